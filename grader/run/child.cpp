// kit-run's exec-child: limits, user switch and parent-death signal between spawn and exec.
#include "run/child.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <string_view>

namespace kit {
namespace {

constexpr std::string_view mode_flag = "--exec-child";

[[noreturn]] void fail(int stage, int error) {
    const ChildError report{stage, error};
    const ssize_t ignored = ::write(exec_error_fd, &report, sizeof report);
    static_cast<void>(ignored);
    ::_exit(127);
}

template <typename T>
bool number(const char* text, T& out) {
    const std::string_view view(text);
    const auto result = std::from_chars(view.data(), view.data() + view.size(), out);
    return result.ec == std::errc() && result.ptr == view.data() + view.size();
}

}  // namespace

std::vector<std::string> exec_child_argv(const ChildPlan& plan,
                                         const std::vector<std::string>& command) {
    std::vector<std::string> argv = {"/proc/self/exe",
                                     std::string(mode_flag),
                                     std::to_string(plan.parent),
                                     plan.drop ? "1" : "0",
                                     std::to_string(plan.uid),
                                     std::to_string(plan.gid),
                                     std::to_string(plan.limits.size())};
    for (const auto& [resource, limit] : plan.limits) {
        argv.push_back(std::to_string(resource));
        argv.push_back(std::to_string(limit.rlim_cur));
        argv.push_back(std::to_string(limit.rlim_max));
    }
    argv.emplace_back("--");
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
}

bool is_exec_child(int argc, char** argv) {
    return argc > 1 && std::string_view(argv[1]) == mode_flag;  // NOLINT(*-pointer-arithmetic)
}

// NOLINTBEGIN(cppcoreguidelines-pro-bounds-pointer-arithmetic): argv is a C array
int exec_child_main(int argc, char** argv) {
    if (::fcntl(exec_error_fd, F_SETFD, FD_CLOEXEC) != 0) {
        ::_exit(126);  // not started by kit-run: there is nobody to tell
    }
    ChildPlan plan;
    int drop = 0;
    std::size_t count = 0;
    if (argc < 8 || !number(argv[2], plan.parent) || !number(argv[3], drop) ||
        !number(argv[4], plan.uid) || !number(argv[5], plan.gid) || !number(argv[6], count)) {
        fail(1, EINVAL);
    }
    int next = 7;
    for (std::size_t i = 0; i < count; ++i, next += 3) {
        int resource = 0;
        rlimit limit{};
        if (next + 3 > argc || !number(argv[next], resource) ||
            !number(argv[next + 1], limit.rlim_cur) || !number(argv[next + 2], limit.rlim_max)) {
            fail(1, EINVAL);
        }
        if (::setrlimit(static_cast<__rlimit_resource>(resource), &limit) != 0) {
            fail(2, errno);
        }
    }
    if (next >= argc || std::string_view(argv[next]) != "--" || next + 1 >= argc) {
        fail(1, EINVAL);
    }
    if (drop != 0 &&
        (::setgroups(0, nullptr) != 0 || ::setgid(plan.gid) != 0 || ::setuid(plan.uid) != 0)) {
        fail(3, errno);
    }
    // Set after the user switch, which clears it: if kit-run dies, the test dies with it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != plan.parent) {
        ::_exit(125);
    }
    ::execvp(argv[next + 1], argv + next + 1);
    fail(4, errno);
}
// NOLINTEND(cppcoreguidelines-pro-bounds-pointer-arithmetic)

}  // namespace kit
