// Helpers shared by lesson 7.1's public and hidden tests: counting this process's threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <filesystem>
#include <latch>
#include <system_error>
#include <thread>

namespace lesson7::test_support {

// How many threads this process has right now (one directory per thread in /proc/self/task).
inline std::size_t count_threads() {
    std::size_t n = 0;
    std::error_code error;
    for (std::filesystem::directory_iterator it("/proc/self/task", error), end; !error && it != end;
         it.increment(error)) {
        ++n;
    }
    return n;
}

// Runs `work` while a watcher thread counts this process's threads; returns the most threads that
// existed at once beyond those already there (the caller, the watcher, ...). Threads that run
// their chunks at the same time all exist together; threads started and joined one after the
// other never do. The inputs must keep each chunk busy for a while (tens of milliseconds), so that
// the watcher gets to look while they all exist.
template <class F>
std::size_t extra_threads_during(F work) {
    std::latch ready(1);
    std::atomic<bool> done{false};
    std::size_t base = 0;
    std::size_t peak = 0;
    std::thread watcher([&] {
        base = count_threads();
        peak = base;
        ready.count_down();
        while (!done.load()) {
            peak = std::max(peak, count_threads());
            std::this_thread::yield();
        }
    });
    ready.wait();
    work();
    done = true;
    watcher.join();
    return peak - base;
}

// extra_threads_during, tried up to `attempts` times until it sees `want` extra threads; returns
// the most it saw. One look can miss on a loaded machine: a thread an earlier test joined can
// still be listed in /proc/self/task for a moment after its join returned (the kernel wakes the
// joiner before it removes the task), which raises the baseline, and the watcher can be off the
// CPU for the whole time the chunks run. A serial implementation never reaches `want` in any
// attempt, so trying again cannot pass it.
template <class F>
std::size_t max_extra_threads(F work, std::size_t want, int attempts = 5) {
    std::size_t best = 0;
    for (int i = 0; i < attempts && best < want; ++i) {
        best = std::max(best, extra_threads_during(work));
    }
    return best;
}

}  // namespace lesson7::test_support
