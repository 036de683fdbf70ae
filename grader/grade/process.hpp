// Runs child processes for kit-grade (meson, ninja, clang-tidy) and streams their output line by
// line.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kit::grade {

// How one child process is run. The child inherits kit-grade's environment plus env_set, minus
// env_unset.
struct ProcessOptions {
    std::filesystem::path cwd;                   // empty: kit-grade's working directory
    std::map<std::string, std::string> env_set;  // added or replaced variables
    std::vector<std::string> env_unset;          // removed variables
    std::filesystem::path log;  // when set, the full combined output is written here
    std::function<void(std::string_view)>
        on_line;                         // called on the calling thread for each output line
    std::size_t keep_bytes = 4U << 20U;  // at most this much output is kept in ProcessResult
    // Limits of a build step (0: none). step_seconds: the whole command's wall time (then
    // everything below it is killed); process_seconds: the wall time of each process below it
    // (one compile, one link: only that process and its children are killed, ninja goes on);
    // memory_bytes: every process's address space (RLIMIT_AS, set by /bin/sh's ulimit -v).
    double step_seconds = 0;
    double process_seconds = 0;
    std::uint64_t memory_bytes = 0;
};

// What happened to the child. exit_code is 127 when the program could not be started.
struct ProcessResult {
    int exit_code = -1;
    int signal = 0;
    std::string output;  // combined stdout and stderr, capped at keep_bytes
    double seconds = 0;
    bool step_timed_out = false;                // step_seconds ran out: the whole step was killed
    std::vector<std::string> killed_processes;  // command lines killed for process_seconds
    bool ok() const { return exit_code == 0 && signal == 0; }
};

// Runs argv[0] (searched in PATH) with stdout and stderr merged into one pipe and waits for it.
// Safe to call from several threads at once; each call owns its child. Never throws for a failing
// child.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// Finds a program in PATH; returns an empty path when absent.
std::filesystem::path find_program(std::string_view name);

}  // namespace kit::grade
