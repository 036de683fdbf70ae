// Hang investigation for kit-run: is a timed-out test deadlocked or busy, and what does every
// thread look like (the /proc thread table, then gdb's backtraces).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "run/proc.hpp"
#include "run/pump.hpp"
#include "run/runner.hpp"

namespace kit {

struct HangLook {
    HangReport report;              // kind and summary (gdb_note is filled by capture_backtrace)
    std::vector<TaskInfo> threads;  // the second look at every thread below kit-run
};

// Two looks at every thread below kit-run (`self`), 300 ms apart, pumping output in between so a
// writer blocked on a full pipe is not mistaken for a deadlock. A thread that is running or gained
// CPU time makes the hang "busy"; otherwise it is a "deadlock".
HangLook classify_hang(pid_t self, OutputPump& pump);

// The thread table written before the backtraces.
std::string thread_table(const std::string& item, double timeout_seconds, const HangLook& look);

// Runs gdb on `target` (all threads' backtraces) with its output on `trace_fd`, until it ends or
// `deadline`; pumps output meanwhile. Returns "" or why there is no backtrace.
std::string capture_backtrace(pid_t target, int trace_fd,
                              std::chrono::steady_clock::time_point deadline, OutputPump& pump);

}  // namespace kit
