// Helpers shared by the public and hidden tests of lesson 7.3, tasks 2 and 3.
#pragma once

#include <uv.h>

#include <chrono>
#include <utility>
#include <vector>

#include "lesson7/aio.hpp"

namespace lesson7::aio::test_support {

// Handles on the current loop that are active (a running timer, a started poll) and not closing;
// the loop's own idle handle does not count.
inline int active_handles() {
    int n = 0;
    uv_walk(
        &current_loop(),
        [](uv_handle_t* h, void* arg) {
            if (uv_is_active(h) != 0 && uv_is_closing(h) == 0 && uv_handle_get_type(h) != UV_IDLE) {
                ++*static_cast<int*>(arg);
            }
        },
        &n);
    return n;
}

// Runs main and returns the leak report instead of printing it.
inline std::vector<Leak> run_collecting(Task<void> main) {
    std::vector<Leak> leaks;
    RunOptions options;
    options.on_leak = [&leaks](const Leak& l) { leaks.push_back(l); };
    run(std::move(main), std::move(options));
    return leaks;
}

// A task that sleeps for d, then gives v.
inline Task<int> after(std::chrono::milliseconds d, int v) {
    co_await sleep(d);
    co_return v;
}

}  // namespace lesson7::aio::test_support
