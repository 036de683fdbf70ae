// The grader's one way to start a process: posix_spawn, with RAII file descriptors and pipes.
#include "common/spawn.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

namespace kit {
namespace {

// Descriptors a child may ask for lie below this; the sources are moved above it first, so one
// dup2 never overwrites the source of the next.
constexpr int child_fd_limit = 64;

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct SpawnObjects {
    posix_spawnattr_t attr{};
    posix_spawn_file_actions_t actions{};
    bool attr_ok = false;
    bool actions_ok = false;
    SpawnObjects() {
        attr_ok = ::posix_spawnattr_init(&attr) == 0;
        actions_ok = ::posix_spawn_file_actions_init(&actions) == 0;
    }
    ~SpawnObjects() {
        if (attr_ok) {
            ::posix_spawnattr_destroy(&attr);
        }
        if (actions_ok) {
            ::posix_spawn_file_actions_destroy(&actions);
        }
    }
    SpawnObjects(const SpawnObjects&) = delete;
    SpawnObjects& operator=(const SpawnObjects&) = delete;
    SpawnObjects(SpawnObjects&&) = delete;
    SpawnObjects& operator=(SpawnObjects&&) = delete;
};

// Every step of the set-up returns 0 or an errno, like posix_spawn itself.
int prepare(const SpawnRequest& request, SpawnObjects& objects, std::vector<Fd>& moved) {
    if (!objects.attr_ok || !objects.actions_ok) {
        return ENOMEM;
    }
    // The child starts with no blocked signals and default dispositions for the ones kit-run
    // blocks or ignores (SIGPIPE, and the signalfd's SIGTERM/SIGINT/SIGHUP).
    sigset_t none;
    sigset_t defaults;
    ::sigemptyset(&none);
    ::sigemptyset(&defaults);
    for (const int signal : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) {
        ::sigaddset(&defaults, signal);
    }
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (request.new_process_group) {
        flags |= POSIX_SPAWN_SETPGROUP;
        if (const int rc = ::posix_spawnattr_setpgroup(&objects.attr, 0); rc != 0) {
            return rc;
        }
    }
    if (int rc = ::posix_spawnattr_setsigmask(&objects.attr, &none); rc != 0) {
        return rc;
    }
    if (int rc = ::posix_spawnattr_setsigdefault(&objects.attr, &defaults); rc != 0) {
        return rc;
    }
    if (int rc = ::posix_spawnattr_setflags(&objects.attr, flags); rc != 0) {
        return rc;
    }
    int highest = 2;
    for (const auto& [child, parent] : request.fds) {
        if (child < 0 || child >= child_fd_limit) {
            return EBADF;
        }
        Fd high(::fcntl(parent, F_DUPFD_CLOEXEC, child_fd_limit));
        if (!high.valid()) {
            return errno;
        }
        if (int rc = ::posix_spawn_file_actions_adddup2(&objects.actions, high.get(), child);
            rc != 0) {
            return rc;
        }
        highest = std::max(highest, child);
        moved.push_back(std::move(high));
    }
    if (!request.cwd.empty()) {
        if (int rc = ::posix_spawn_file_actions_addchdir_np(&objects.actions, request.cwd.c_str());
            rc != 0) {
            return rc;
        }
    }
    // Belt and braces behind O_CLOEXEC: nothing above the mapped descriptors survives.
    return ::posix_spawn_file_actions_addclosefrom_np(&objects.actions, highest + 1);
}

}  // namespace

void Fd::reset(int fd) {
    if (fd_ >= 0) {
        ::close(fd_);
    }
    fd_ = fd;
}

Pipe make_pipe() {
    std::array<int, 2> fds{-1, -1};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno) +
                                 " (too many open files?)");
    }
    return {Fd(fds[0]), Fd(fds[1])};
}

Fd open_fd(const std::filesystem::path& path, int flags, mode_t mode) {
    return Fd(::open(path.c_str(), flags | O_CLOEXEC, mode));
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

pid_t spawn(const SpawnRequest& request, int& error) {
    error = 0;
    if (request.argv.empty()) {
        error = EINVAL;
        return -1;
    }
    std::vector<char*> argv;
    for (const auto& arg : request.argv) {
        argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& entry : request.env) {
        envp.push_back(const_cast<char*>(entry.c_str()));
    }
    envp.push_back(nullptr);
    SpawnObjects objects;
    std::vector<Fd> moved;  // closed in the parent once the child has its copies
    if (const int rc = prepare(request, objects, moved); rc != 0) {
        error = rc;
        return -1;
    }
    pid_t pid = -1;
    const int rc =
        ::posix_spawnp(&pid, argv[0], &objects.actions, &objects.attr, argv.data(), envp.data());
    if (rc != 0) {
        error = rc;
        return -1;
    }
    return pid;
}

std::vector<std::string> current_environment() {
    std::vector<std::string> env;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        env.emplace_back(*entry);
    }
    return env;
}

}  // namespace kit
