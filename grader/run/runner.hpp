// Runs a test command once under kit-run's limits, watches it, and kills whatever it leaves behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/spawn.hpp"
#include "run/config.hpp"

namespace kit {

// Where one run's files go; an empty path means "not kept" (kit-run used by hand, no KIT_OUT).
struct RunPaths {
    std::optional<std::filesystem::path> log;            // captured stdout+stderr (capped)
    std::optional<std::filesystem::path> backtrace;      // thread table and gdb output of a hang
    std::optional<std::filesystem::path> sanitizer_dir;  // the sanitizers' log_path directory
};

// Why kit-run stopped a run before it ended on its own.
enum class StopReason { none, timeout, interrupted, too_many_processes, too_much_memory };

// How a hung run looked when kit-run stopped it.
struct HangReport {
    std::string kind;     // "deadlock": every thread blocked; "busy": some thread kept running
    std::string summary;  // one line, e.g. "all 3 threads blocked (futex_wait_queue x3)"
    std::string
        gdb_note;  // empty, or why there is no backtrace (gdb missing, ptrace refused, slow)
};

// What one run did, before any judgement.
struct RawRun {
    std::string start_error;       // non-empty: the command could not be started (with the reason)
    bool start_retryable = false;  // the start failed for want of a process slot (EAGAIN)
    bool exited = false;           // ended by exit(); exit_code is valid
    int exit_code = -1;
    int signal = 0;  // the signal that ended it, 0 if none
    double seconds = 0;
    double timeout_seconds = 0;  // the wall-clock limit this run had
    std::string record;          // the completion record's bytes (at most 4 MiB)
    bool record_overflow = false;
    std::uint64_t output_bytes = 0;   // output kept in the log
    std::uint64_t dropped_bytes = 0;  // output beyond the cap
    StopReason stop = StopReason::none;
    std::string stop_detail;  // the signal name for interrupted, the measured value for limits
    std::optional<HangReport> hang;
    int leftover = 0;  // live processes still in the tree after the main process ended on its own
    int stuck = 0;     // processes that could not be killed (uninterruptible sleep)
};

class OutputPump;

// Runs commands for kit-run. The constructor makes this process a child subreaper and routes
// SIGTERM, SIGINT and SIGHUP to a signalfd (so meson's timeout stops the run cleanly instead of
// leaving the test's process group alive). One Runner per process; not thread-safe.
class Runner {
  public:
    explicit Runner(const Config& config);
    ~Runner();
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;
    Runner(Runner&&) = delete;
    Runner& operator=(Runner&&) = delete;

    // Runs config.command once with environment `env` (NAME=VALUE strings; kit-run adds
    // KIT_KEY_FD and KIT_RECORD_FD), giving it `key` through the key pipe. Never throws for
    // anything the test does; throws std::runtime_error only when kit-run itself cannot work
    // (no pipes, no fork, cannot create the log file).
    RawRun run(const std::vector<std::string>& env, const std::string& key, const RunPaths& paths);

    // True once a SIGTERM/SIGINT/SIGHUP arrived; kit-run then starts no further run.
    [[nodiscard]] bool interrupted() const { return interrupted_; }

  private:
    using Clock = std::chrono::steady_clock;
    // A started test: its pid (-1: it could not start, raw.start_error says why), its log and the
    // pump over its pipes.
    struct Started {
        pid_t pid = -1;
        Clock::time_point at;
        Fd log;
        std::unique_ptr<OutputPump> pump;
    };
    struct Deadlines {
        Clock::time_point run;  // the run's timeout
        Clock::time_point gdb;  // the latest end of the hang investigation (meson's ceiling)
    };

    // Spawns the exec-child with the test's descriptors; throws only when kit-run cannot work.
    Started start(const std::vector<std::string>& env, const std::string& key,
                  const RunPaths& paths, RawRun& raw);
    [[nodiscard]] Deadlines deadlines(Clock::time_point start) const;
    // Pumps output until the test ends (true, `status` set) or a stop reason arises (false).
    bool watch(const Started& started, const Deadlines& limits, RawRun& raw, int& status);
    // Classifies the hang and writes the thread table and gdb's backtraces.
    void investigate_hang(const Started& started, const Deadlines& limits, const RunPaths& paths,
                          RawRun& raw);

    const Config& config_;
    std::chrono::steady_clock::time_point born_;  // meson's ceiling counts from here
    int signal_fd_ = -1;
    bool interrupted_ = false;
};

}  // namespace kit
