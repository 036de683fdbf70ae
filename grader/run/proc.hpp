// Reads /proc for kit-run: the process tree under kit-run, thread states, memory, and killing it
// all.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace kit {

// One process as /proc/PID/stat and /proc/PID/statm show it.
struct ProcInfo {
    pid_t pid = 0;
    pid_t ppid = 0;
    pid_t pgrp = 0;
    char state = '?';
    std::uint64_t cpu_ticks = 0;  // utime + stime of the whole process
    std::uint64_t rss_bytes = 0;
    std::uint64_t start_ticks = 0;  // when it started, in clock ticks since boot
};

// One thread of a process (/proc/PID/task/TID/{stat,wchan,syscall}).
struct TaskInfo {
    pid_t pid = 0;
    pid_t tid = 0;
    std::string comm;
    char state = '?';  // R running, S sleeping, D uninterruptible, T/t stopped, Z zombie
    std::uint64_t cpu_ticks = 0;
    std::string
        wchan;  // the kernel function it waits in, e.g. futex_wait_queue ("0" or "" if none)
    long syscall = -2;  // the system call it is blocked in, -1 running in user space, -2 unknown
};

// Every process below `root` (children, grandchildren...; `root` itself excluded), read from one
// scan of /proc. Processes that vanish during the scan are skipped. Never throws on /proc races.
std::vector<ProcInfo> descendants_of(pid_t root);

// Seconds since boot (/proc/uptime), and clock ticks per second, to age a process by start_ticks.
double uptime_seconds();
long ticks_per_second();

// The threads of process `pid` (empty if it is gone).
std::vector<TaskInfo> tasks_of(pid_t pid);

// Kills every process below `self` and the process group `pgrp` with SIGKILL and reaps them, in
// rounds: kit-run is a child subreaper (PR_SET_CHILD_SUBREAPER), so grandchildren orphaned by a
// killed parent, including ones that left the group with setsid(), come back to it and die in the
// next round. Returns how many live (non-zombie) processes it found and killed. Gives up after
// `budget` (a process stuck in uninterruptible sleep) and reports that in `stuck`.
int kill_process_tree(pid_t self, pid_t pgrp, std::chrono::milliseconds budget, int& stuck);

// The name of a signal, e.g. "SIGSEGV (Segmentation fault)".
std::string signal_name(int signal);

}  // namespace kit
