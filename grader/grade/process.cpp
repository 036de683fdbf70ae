// Runs child processes for kit-grade (meson, ninja, clang-tidy) through the common spawner and
// streams their output line by line.
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

#include "common/spawn.hpp"

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
    while (true) {
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
