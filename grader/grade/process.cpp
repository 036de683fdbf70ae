// Runs child processes for kit-grade (meson, ninja, clang-tidy) and streams their output line by
// line.
#include "process.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX global, not in a header

namespace kit::grade {

namespace {

std::vector<std::string> build_environment(const ProcessOptions& options) {
    std::vector<std::string> env;
    std::set<std::string> drop(options.env_unset.begin(), options.env_unset.end());
    for (const auto& kv : options.env_set) {
        drop.insert(kv.first);
    }
    for (char** e = environ; *e != nullptr; ++e) {
        std::string_view entry(*e);
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
    auto started = std::chrono::steady_clock::now();
    std::vector<std::string> env = build_environment(options);
    std::vector<char*> argv_c;
    argv_c.reserve(argv.size() + 1);
    for (const auto& a : argv) {
        argv_c.push_back(const_cast<char*>(a.c_str()));
    }
    argv_c.push_back(nullptr);
    std::vector<char*> env_c;
    env_c.reserve(env.size() + 1);
    for (auto& e : env) {
        env_c.push_back(e.data());
    }
    env_c.push_back(nullptr);
    std::string cwd = options.cwd.string();

    std::array<int, 2> fds{};
    if (pipe2(fds.data(), O_CLOEXEC) != 0) {
        result.exit_code = 127;
        result.output = std::string("cannot create a pipe: ") + std::strerror(errno);
        return result;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        result.exit_code = 127;
        result.output = std::string("cannot fork: ") + std::strerror(errno);
        return result;
    }
    if (pid == 0) {
        // Child: only async-signal-safe calls until exec.
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, 0);
        }
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        if (!cwd.empty() && chdir(cwd.c_str()) != 0) {
            const char msg[] = "kit-grade: cannot change to the working directory\n";
            (void)!write(2, msg, sizeof msg - 1);
            _exit(127);
        }
        execvpe(argv_c[0], argv_c.data(), env_c.data());
        const char msg[] = "kit-grade: cannot start program: ";
        (void)!write(2, msg, sizeof msg - 1);
        (void)!write(2, argv_c[0], std::strlen(argv_c[0]));
        (void)!write(2, "\n", 1);
        _exit(127);
    }
    close(fds[1]);

    std::ofstream log;
    if (!options.log.empty()) {
        std::filesystem::create_directories(options.log.parent_path());
        log.open(options.log, std::ios::binary | std::ios::trunc);
    }
    std::string pending;
    std::array<char, 65536> buf{};
    while (true) {
        ssize_t n = read(fds[0], buf.data(), buf.size());
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
    close(fds[0]);
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
