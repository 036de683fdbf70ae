// Test helpers for lesson 7.3's async downloader: a bare libuv loop with a watchdog, and a look at
// the handles a CurlMulti keeps on it (uv_walk), so tests check the glue without timing it.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <vector>

namespace lesson7::aio::testing {

// A loop of the test's own. run() runs it until nothing is left to do, or until the watchdog (a
// hang guard, not a measurement) stops it; close() checks that every handle was closed.
class TestLoop {
  public:
    TestLoop() {
        uv_loop_init(&loop_);
        uv_timer_init(&loop_, &watchdog_);
        watchdog_.data = this;
    }
    ~TestLoop() { close(); }
    TestLoop(const TestLoop&) = delete;
    TestLoop& operator=(const TestLoop&) = delete;
    TestLoop(TestLoop&&) = delete;
    TestLoop& operator=(TestLoop&&) = delete;

    uv_loop_t& loop() { return loop_; }
    const uv_timer_t* watchdog() const { return &watchdog_; }

    // Runs the loop until it has nothing left to do (true) or `limit` passed (false: hung).
    bool run(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
        hung_ = false;
        uv_timer_start(
            &watchdog_,
            [](uv_timer_t* t) {
                static_cast<TestLoop*>(t->data)->hung_ = true;
                uv_stop(t->loop);
            },
            static_cast<std::uint64_t>(limit.count()), 0);
        uv_unref(reinterpret_cast<uv_handle_t*>(&watchdog_));  // never keeps the loop alive
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_timer_stop(&watchdog_);
        return !hung_;
    }

    // One loop iteration that does not block.
    void run_once() { uv_run(&loop_, UV_RUN_NOWAIT); }

    // Closes the loop; false (with a failure) if a handle other than the watchdog is still open.
    bool close() {
        if (closed_) {
            return true;
        }
        closed_ = true;
        uv_close(reinterpret_cast<uv_handle_t*>(&watchdog_), nullptr);
        drain();
        const int rc = uv_loop_close(&loop_);
        EXPECT_EQ(rc, 0) << "hint: a libuv handle was never closed (uv_close), so the loop cannot "
                            "be closed: close every poll handle and the timer in ~CurlMulti";
        if (rc != 0) {
            // Close what is left so the test process can go on (the test already failed).
            uv_walk(
                &loop_,
                [](uv_handle_t* h, void*) {
                    if (uv_is_closing(h) == 0) {
                        uv_close(h, nullptr);
                    }
                },
                nullptr);
            drain();
            uv_loop_close(&loop_);
        }
        return rc == 0;
    }

    // The handles of `type` on the loop, the watchdog excluded.
    std::vector<uv_handle_t*> handles(uv_handle_type type) {
        struct Walk {
            uv_handle_type type;
            const uv_handle_t* skip;
            std::vector<uv_handle_t*> found;
        } walk{type, reinterpret_cast<const uv_handle_t*>(&watchdog_), {}};
        uv_walk(
            &loop_,
            [](uv_handle_t* h, void* arg) {
                auto* w = static_cast<Walk*>(arg);
                if (h->type == w->type && h != w->skip && uv_is_closing(h) == 0) {
                    w->found.push_back(h);
                }
            },
            &walk);
        return walk.found;
    }

    // Handles of `type` that are closing now (uv_close called, close callback still due). Walking
    // them reads their memory, so a handle freed before its close callback is an ASan report here.
    std::size_t closing(uv_handle_type type) {
        struct Walk {
            uv_handle_type type;
            std::size_t n;
        } walk{type, 0};
        uv_walk(
            &loop_,
            [](uv_handle_t* h, void* arg) {
                auto* w = static_cast<Walk*>(arg);
                if (h->type == w->type && uv_is_closing(h) != 0) {
                    ++w->n;
                }
            },
            &walk);
        return walk.n;
    }

  private:
    // Lets pending close callbacks run without ever blocking on a handle left active.
    void drain() {
        for (int i = 0; i < 100 && uv_loop_alive(&loop_) != 0; ++i) {
            uv_run(&loop_, UV_RUN_NOWAIT);
        }
    }

    uv_loop_t loop_{};
    uv_timer_t watchdog_{};
    bool hung_ = false;
    bool closed_ = false;
};

}  // namespace lesson7::aio::testing
