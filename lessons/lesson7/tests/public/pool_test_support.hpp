// Helpers shared by lesson 7.2's public and hidden pool tests: a gate, a bounded patience, a loud
// hang.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "lesson7/thread_pool.hpp"

namespace lesson7::test_support {

// A bounded wait for things that must happen: a correct pool is far quicker; a broken one hangs.
inline constexpr std::chrono::seconds kPatience{10};

// A door that tasks wait behind until the test opens it (a latch that can be opened once).
class Gate {
  public:
    void open() {
        {
            const std::lock_guard lock(mutex_);
            open_ = true;
        }
        cv_.notify_all();
    }
    void wait() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return open_; });
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
};

// A deadlocked pool cannot even be destroyed: say what hung and end the process (the test fails).
[[noreturn]] inline void die_hung(const char* what) {
    static_cast<void>(std::fprintf(stderr, "FAILED (hung): %s\n", what));
    static_cast<void>(std::fflush(stderr));
    std::_Exit(1);
}

// The kernel's scheduling state of thread `tid` of this process ('R' running, 'S' sleeping, ...),
// from /proc/self/task/TID/stat, or '?' if it cannot be read (the thread has ended).
inline char thread_state(pid_t tid) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::stringstream text;
    text << in.rdbuf();
    const std::string stat = text.str();
    const std::size_t paren = stat.rfind(')');  // the name in parentheses may hold anything
    return paren == std::string::npos || paren + 2 >= stat.size() ? '?' : stat[paren + 2];
}

// Waits (bounded) until thread `tid` sleeps in the kernel: after it announced that it is about to
// block (for example in Future::get()), this means it really waits inside, so whatever the test
// does next happens while it sleeps. This forces the interleaving that a lost wake-up needs,
// without sleeping in the test.
inline void wait_until_blocked(pid_t tid, const char* what) {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (thread_state(tid) != 'S') {
        if (std::chrono::steady_clock::now() > deadline) {
            die_hung(what);
        }
        std::this_thread::yield();
    }
}

// Ends the test loudly unless `f` completes within kPatience.
template <class T>
void expect_done_soon(const Future<T>& f, const char* hint) {
    if (!f.wait_for(kPatience)) {
        die_hung(hint);
    }
}

}  // namespace lesson7::test_support
