// Lesson 7.3 benchmark: the mini loop (task 1) against libuv in the same run: one callback per
// iteration (a call_soon chain vs a uv_idle_t), and a burst of timers that are all due at once.
#include <benchmark/benchmark.h>
#include <uv.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "lesson7/mini_loop.hpp"

namespace {

constexpr std::int64_t kChain = 100'000;  // callbacks per chain, one per loop iteration
constexpr std::int64_t kTimers = 10'000;  // timers per burst

void check_uv(int rc, const char* what) {
    if (rc != 0) {
        static_cast<void>(
            std::fprintf(stderr, "mini_loop_bench: %s failed: %s\n", what, uv_strerror(rc)));
        std::abort();
    }
}

// Closes every handle still open and the loop itself (libuv frees nothing before its close
// callbacks have run).
void close_uv_loop(uv_loop_t* loop) {
    uv_walk(
        loop,
        [](uv_handle_t* h, void*) {
            if (uv_is_closing(h) == 0) {
                uv_close(h, nullptr);
            }
        },
        nullptr);
    check_uv(uv_run(loop, UV_RUN_DEFAULT), "uv_run (closing)");
    check_uv(uv_loop_close(loop), "uv_loop_close");
}

// --- one callback per iteration ----------------------------------------------------------------

// Each link schedules the next with call_soon, so every link is one iteration of the loop (one
// poll(2) with timeout 0, as in libuv below).
void BM_Chain_MiniLoop(benchmark::State& state) {
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        lesson7::mini::Loop loop;
        std::int64_t n = 0;
        std::function<void()> link = [&] {
            if (++n < kChain) {
                loop.call_soon(link);
            }
        };
        loop.call_soon(link);
        loop.run_until([&] { return n == kChain; });
        benchmark::DoNotOptimize(n);
    }
    state.SetItemsProcessed(state.iterations() * kChain);
}

struct IdleCounter {
    uv_idle_t idle{};
    std::int64_t n = 0;
};

// An active idle handle runs its callback once per iteration and makes libuv poll with timeout
// 0: the same shape as the chain above.
void BM_Chain_Libuv(benchmark::State& state) {
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        uv_loop_t loop{};
        check_uv(uv_loop_init(&loop), "uv_loop_init");
        IdleCounter counter;
        check_uv(uv_idle_init(&loop, &counter.idle), "uv_idle_init");
        counter.idle.data = &counter;
        check_uv(uv_idle_start(&counter.idle,
                               [](uv_idle_t* h) {
                                   auto* c = static_cast<IdleCounter*>(h->data);
                                   if (++c->n == kChain) {
                                       uv_idle_stop(h);
                                   }
                               }),
                 "uv_idle_start");
        check_uv(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");
        benchmark::DoNotOptimize(counter.n);
        state.PauseTiming();
        close_uv_loop(&loop);
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * kChain);
}

// --- a burst of timers, all due at once --------------------------------------------------------

// kTimers timers with a 0 delay: each one a push onto the heap, a pop and a call. They all run in
// the first iteration (in insertion order, in both loops).
void BM_Timers_MiniLoop(benchmark::State& state) {
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        lesson7::mini::Loop loop;
        std::int64_t fired = 0;
        for (std::int64_t i = 0; i < kTimers; ++i) {
            loop.call_later(lesson7::mini::Duration::zero(), [&fired] { ++fired; });
        }
        loop.run_until([&] { return fired == kTimers; });
        benchmark::DoNotOptimize(fired);
    }
    state.SetItemsProcessed(state.iterations() * kTimers);
}

// The same with one uv_timer_t per timer. Closing the handles is not timed (the mini loop has no
// handles to close), which favours libuv slightly.
void BM_Timers_Libuv(benchmark::State& state) {
    std::vector<uv_timer_t> timers(static_cast<std::size_t>(kTimers));
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        uv_loop_t loop{};
        check_uv(uv_loop_init(&loop), "uv_loop_init");
        std::int64_t fired = 0;
        for (uv_timer_t& t : timers) {
            check_uv(uv_timer_init(&loop, &t), "uv_timer_init");
            t.data = &fired;
            check_uv(uv_timer_start(
                         &t, [](uv_timer_t* h) { ++*static_cast<std::int64_t*>(h->data); }, 0, 0),
                     "uv_timer_start");
        }
        check_uv(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");
        if (fired != kTimers) {
            state.SkipWithError("libuv ran fewer timers than it started");
        }
        state.PauseTiming();
        close_uv_loop(&loop);
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * kTimers);
}

BENCHMARK(BM_Chain_MiniLoop)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Chain_Libuv)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Timers_MiniLoop)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Timers_Libuv)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
