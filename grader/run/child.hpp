// Starting the test: kit-run posix_spawns itself in "--exec-child" mode, which applies the rlimits,
// switches to the test user, arms the parent-death signal and execs the test command. posix_spawn
// cannot do those steps itself, and kit-run never forks.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace kit {

// The descriptor on which the exec-child reports why it could not start the command (close-on-exec,
// so a successful exec closes it and the parent reads EOF).
inline constexpr int exec_error_fd = 5;

// What the exec-child does before exec.
struct ChildPlan {
    pid_t parent = 0;  // kit-run's pid: if it is gone already, the child exits
    std::vector<std::pair<int, rlimit>> limits;
    bool drop = false;  // switch to uid/gid (and no supplementary groups)
    uid_t uid = 0;
    gid_t gid = 0;
};

// The exec-child's report on exec_error_fd.
struct ChildError {
    int stage = 0;  // 1 fds, 2 limits, 3 user switch, 4 exec
    int error = 0;
};

// argv for the exec-child: /proc/self/exe --exec-child <plan> -- <command...>.
std::vector<std::string> exec_child_argv(const ChildPlan& plan,
                                         const std::vector<std::string>& command);

// True when argv asks for exec-child mode (main() dispatches on it, before anything else runs).
bool is_exec_child(int argc, char** argv);

// The exec-child itself; returns only on failure (after reporting it on exec_error_fd).
int exec_child_main(int argc, char** argv);

}  // namespace kit
