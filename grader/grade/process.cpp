// Runs child processes for kit-grade (meson, ninja, clang-tidy) through the common spawner and
// streams their output line by line.
#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>

#include "common/spawn.hpp"
#include "run/proc.hpp"

namespace kit::grade {

namespace {

std::vector<std::string> build_environment(const ProcessOptions& options) {
    std::vector<std::string> env;
    std::set<std::string> drop(options.env_unset.begin(), options.env_unset.end());
    for (const auto& kv : options.env_set) {
        drop.insert(kv.first);
    }
    for (const std::string& entry : current_environment()) {
        std::string key(entry.substr(0, entry.find('=')));
        if (drop.count(key) == 0) {
            env.emplace_back(entry);
        }
    }
    for (const auto& kv : options.env_set) {
        env.push_back(kv.first + "=" + kv.second);
    }
    return env;
}

// A process's command line, arguments joined by spaces (empty once it is gone).
std::string command_line(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (char& c : text) {
        c = c == '\0' ? ' ' : c;
    }
    while (!text.empty() && text.back() == ' ') {
        text.pop_back();
    }
    return text;
}

// Kills `pid` and everything below it. Stopping it first keeps it from starting more children
// while they are killed; kit-grade is no subreaper, so the children go before their parent.
void kill_tree(pid_t pid) {
    ::kill(pid, SIGSTOP);
    for (int round = 0; round < 3; ++round) {
        for (const auto& info : descendants_of(pid)) {
            ::kill(info.pid, SIGKILL);
        }
    }
    ::kill(pid, SIGKILL);
}

// The build-step watchdog: kills every process below `root` older than options.process_seconds
// (with its children), or the whole tree once the step is older than options.step_seconds.
void watch_step(pid_t root, std::chrono::steady_clock::time_point started,
                const ProcessOptions& options, ProcessResult& result) {
    const auto age = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
    if (options.step_seconds > 0 && age.count() > options.step_seconds) {
        if (!result.step_timed_out) {
            for (const auto& info : descendants_of(root)) {
                result.killed_processes.push_back(command_line(info.pid));
            }
            result.step_timed_out = true;
        }
        kill_tree(root);
        return;
    }
    if (options.process_seconds <= 0) {
        return;
    }
    const double now = uptime_seconds();
    const auto ticks = static_cast<double>(ticks_per_second());
    std::set<pid_t> killed;
    for (const auto& info : descendants_of(root)) {
        if (killed.count(info.ppid) != 0) {
            killed.insert(info.pid);  // went with its parent's tree
            continue;
        }
        if (info.state != 'Z' &&
            now - static_cast<double>(info.start_ticks) / ticks > options.process_seconds) {
            result.killed_processes.push_back(command_line(info.pid));
            kill_tree(info.pid);
            killed.insert(info.pid);
        }
    }
}

}  // namespace

std::filesystem::path find_program(std::string_view name) {
    if (name.find('/') != std::string_view::npos) {
        return std::filesystem::path(name);
    }
    const char* path = std::getenv("PATH");
    std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        std::size_t end = dirs.find(':', start);
        if (end == std::string_view::npos) {
            end = dirs.size();
        }
        std::filesystem::path candidate =
            std::filesystem::path(dirs.substr(start, end - start)) / name;
        if (access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
        start = end + 1;
    }
    return {};
}

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
    ProcessResult result;
    const auto started = std::chrono::steady_clock::now();
    Pipe output;
    Fd dev_null;
    try {
        output = make_pipe();
    } catch (const std::runtime_error& e) {
        result.exit_code = 127;
        result.output = e.what();
        return result;
    }
    dev_null = open_fd("/dev/null", O_RDONLY);
    SpawnRequest request;
    request.argv = argv;
    if (options.memory_bytes > 0 && !argv.empty()) {
        // posix_spawn cannot set rlimits: the shell sets RLIMIT_AS, then becomes the command.
        request.argv = {"/bin/sh", "-c",
                        "ulimit -v " + std::to_string(options.memory_bytes >> 10U) +
                            " || exit 126; exec \"$@\"",
                        "kit-limit"};
        request.argv.insert(request.argv.end(), argv.begin(), argv.end());
    }
    const bool watched = options.step_seconds > 0 || options.process_seconds > 0;
    request.env = build_environment(options);
    request.cwd = options.cwd;
    request.fds = {{1, output.write.get()}, {2, output.write.get()}};
    if (dev_null.valid()) {
        request.fds.emplace_back(0, dev_null.get());
    }
    int error = 0;
    const pid_t pid = spawn(request, error);
    output.write.reset();
    dev_null.reset();
    if (pid < 0) {
        result.exit_code = 127;
        result.output = "kit-grade: cannot start " + (argv.empty() ? std::string("?") : argv[0]) +
                        ": " + std::strerror(error) + "\n";
        return result;
    }

    std::ofstream log;
    if (!options.log.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(options.log.parent_path(), ec);
        log.open(options.log, std::ios::binary | std::ios::trunc);
    }
    std::string pending;
    std::array<char, 65536> buf{};
    auto next_watch = started;
    while (true) {
        if (watched) {
            // A compiler blocked on a device writes nothing: wake up to look at the tree.
            pollfd ready{output.read.get(), POLLIN, 0};
            const int polled = ::poll(&ready, 1, 500);
            if (std::chrono::steady_clock::now() >= next_watch) {
                next_watch = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
                watch_step(pid, started, options, result);
            }
            if (polled <= 0) {
                continue;
            }
        }
        const ssize_t n = read(output.read.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
        if (log.is_open()) {
            log.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
            log.flush();
        }
        if (result.output.size() < options.keep_bytes) {
            result.output.append(chunk.substr(0, options.keep_bytes - result.output.size()));
        }
        if (options.on_line) {
            pending.append(chunk);
            std::size_t nl = 0;
            while ((nl = pending.find_first_of("\n\r")) != std::string::npos) {
                options.on_line(std::string_view(pending).substr(0, nl));
                pending.erase(0, nl + 1);
            }
        }
    }
    if (options.on_line && !pending.empty()) {
        options.on_line(pending);
    }
    output.read.reset();
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.signal = WTERMSIG(status);
        result.exit_code = 128 + result.signal;
    }
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

}  // namespace kit::grade
