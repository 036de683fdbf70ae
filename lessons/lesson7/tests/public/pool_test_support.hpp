// Helpers shared by lesson 7.2's public and hidden pool tests: a gate, a bounded patience, a loud
// hang.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>

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

// Ends the test loudly unless `f` completes within kPatience.
template <class T>
void expect_done_soon(const Future<T>& f, const char* hint) {
    if (!f.wait_for(kPatience)) {
        die_hung(hint);
    }
}

}  // namespace lesson7::test_support
