// Lesson 7.2 benchmark: the reference ThreadPool/ProcessPool against asio::thread_pool and oneTBB,
// side by side.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <future>
#include <latch>
#include <memory>
#include <string>
#include <vector>

#include "lesson7/process_pool.hpp"
#include "lesson7/thread_pool.hpp"

#if defined(KIT_HAVE_ASIO) && KIT_HAVE_ASIO && __has_include(<asio.hpp>)
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#define LESSON7_BENCH_ASIO 1
#else
#define LESSON7_BENCH_ASIO 0
#endif

#if defined(KIT_HAVE_TBB) && KIT_HAVE_TBB && __has_include(<tbb/task_group.h>)
#include <tbb/task_arena.h>
#include <tbb/task_group.h>
#define LESSON7_BENCH_TBB 1
#else
#define LESSON7_BENCH_TBB 0
#endif

namespace {

constexpr std::int64_t kTasks = 1'000'000;
constexpr std::size_t kThreads = 2;  // the targets are for 2 cores

int echo_int(int x) {
    return x;
}
LESSON7_REGISTER_TASK(echo_int);

std::string echo_bytes(std::string s) {
    return s;
}
LESSON7_REGISTER_TASK(echo_bytes);

// --- 1 M empty detached tasks: the queue's own cost -------------------------------------------

void BM_Detached_Reference(benchmark::State& state) {
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        lesson7::ThreadPool pool(kThreads);
        for (std::int64_t i = 0; i < kTasks; ++i) {
            pool.post([] {});
        }
        pool.shutdown(true, false);  // drain and join: every task ran
    }
    state.SetItemsProcessed(state.iterations() * kTasks);
}
BENCHMARK(BM_Detached_Reference)->Unit(benchmark::kMillisecond)->UseRealTime();

#if LESSON7_BENCH_ASIO
void BM_Detached_Asio(benchmark::State& state) {
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        asio::thread_pool pool(kThreads);
        for (std::int64_t i = 0; i < kTasks; ++i) {
            asio::post(pool, [] {});
        }
        pool.join();
    }
    state.SetItemsProcessed(state.iterations() * kTasks);
}
BENCHMARK(BM_Detached_Asio)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

#if LESSON7_BENCH_TBB
void BM_Detached_Tbb(benchmark::State& state) {
    // The arena has 2 slots: the calling thread takes part, as oneTBB's callers always do.
    tbb::task_arena arena(static_cast<int>(kThreads));
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        arena.execute([] {
            tbb::task_group group;
            for (std::int64_t i = 0; i < kTasks; ++i) {
                group.run([] {});
            }
            group.wait();
        });
    }
    state.SetItemsProcessed(state.iterations() * kTasks);
}
BENCHMARK(BM_Detached_Tbb)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

// --- 1 M tasks with futures ---------------------------------------------------------------------

void BM_Futures_Reference(benchmark::State& state) {
    lesson7::ThreadPool pool(kThreads);
    std::vector<lesson7::Future<int>> futures;
    futures.reserve(kTasks);
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        futures.clear();
        for (std::int64_t i = 0; i < kTasks; ++i) {
            futures.push_back(pool.submit([] { return 1; }));
        }
        std::int64_t sum = 0;
        for (const auto& f : futures) {
            sum += f.get();
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * kTasks);
}
BENCHMARK(BM_Futures_Reference)->Unit(benchmark::kMillisecond)->UseRealTime();

#if LESSON7_BENCH_ASIO
void BM_Futures_AsioPackagedTask(benchmark::State& state) {
    asio::thread_pool pool(kThreads);
    std::vector<std::future<int>> futures;
    futures.reserve(kTasks);
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        futures.clear();
        for (std::int64_t i = 0; i < kTasks; ++i) {
            auto task = std::make_shared<std::packaged_task<int()>>([] { return 1; });
            futures.push_back(task->get_future());
            asio::post(pool, [task] { (*task)(); });
        }
        std::int64_t sum = 0;
        for (auto& f : futures) {
            sum += f.get();
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * kTasks);
}
BENCHMARK(BM_Futures_AsioPackagedTask)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

// --- speedup for 10 us tasks on 2 workers
// ---------------------------------------------------------

// A CPU-bound task of about 10 us: the spin count is calibrated once.
std::uint64_t spin(std::uint64_t rounds) {
    std::uint64_t x = 88172645463325252ULL;
    for (std::uint64_t i = 0; i < rounds; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        benchmark::DoNotOptimize(x);
    }
    return x;
}

std::uint64_t rounds_for_10us() {
    static const std::uint64_t rounds = [] {
        std::uint64_t r = 1000;
        for (;;) {
            const auto t0 = std::chrono::steady_clock::now();
            for (int i = 0; i < 100; ++i) {
                spin(r);
            }
            const double us =
                std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                    .count() /
                100;
            if (us >= 9.5) {
                return static_cast<std::uint64_t>(static_cast<double>(r) * 10.0 / us);
            }
            r *= 2;
        }
    }();
    return rounds;
}

void BM_Speedup10us(benchmark::State& state) {
    const std::uint64_t rounds = rounds_for_10us();
    constexpr int kWork = 20000;  // 20000 x 10 us = 0.2 s of work
    lesson7::ThreadPool pool(kThreads);
    double serial_s = 0;
    double pool_s = 0;
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < kWork; ++i) {
            spin(rounds);
        }
        auto t1 = std::chrono::steady_clock::now();
        std::latch all(kWork);
        for (int i = 0; i < kWork; ++i) {
            pool.post([rounds, &all] {
                spin(rounds);
                all.count_down();
            });
        }
        all.wait();
        auto t2 = std::chrono::steady_clock::now();
        serial_s += std::chrono::duration<double>(t1 - t0).count();
        pool_s += std::chrono::duration<double>(t2 - t1).count();
    }
    state.counters["speedup"] = serial_s / pool_s;
    state.counters["task_us"] = serial_s / static_cast<double>(state.iterations()) / kWork * 1e6;
}
BENCHMARK(BM_Speedup10us)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

// --- the process pool: start-up and a round trip -------------------------------------------------

void BM_ProcessPool_Startup(benchmark::State& state) {
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        lesson7::ProcessPool pool(kThreads);
        // One task per worker proves both started; then shutdown reaps them.
        auto a = pool.submit(echo_int, 1);
        auto b = pool.submit(echo_int, 2);
        benchmark::DoNotOptimize(a.get() + b.get());
    }
}
BENCHMARK(BM_ProcessPool_Startup)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ProcessPool_RoundTrip(benchmark::State& state) {
    lesson7::ProcessPool pool(1);
    int i = 0;
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        benchmark::DoNotOptimize(pool.submit(echo_int, ++i).get());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ProcessPool_RoundTrip)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_ThreadPool_RoundTrip(benchmark::State& state) {
    lesson7::ThreadPool pool(1);
    int i = 0;
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        benchmark::DoNotOptimize(pool.submit(echo_int, ++i).get());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ThreadPool_RoundTrip)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_ProcessPool_Bytes(benchmark::State& state) {
    lesson7::ProcessPool pool(1);
    const std::string payload(static_cast<std::size_t>(state.range(0)), 'x');
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        benchmark::DoNotOptimize(pool.submit(echo_bytes, payload).get().size());
    }
    state.SetBytesProcessed(state.iterations() * state.range(0) * 2);  // there and back
}
BENCHMARK(BM_ProcessPool_Bytes)
    ->Arg(1024)
    ->Arg(1 << 20)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    if (!LESSON7_BENCH_ASIO) {
        static_cast<void>(std::fprintf(
            stderr,
            "lesson7-bench-executor: <asio.hpp> not found: asio peer skipped (apt install "
            "libasio-dev)\n"));
    }
    if (!LESSON7_BENCH_TBB) {
        static_cast<void>(
            std::fprintf(stderr,
                         "lesson7-bench-executor: oneTBB not found: tbb peer skipped (apt install "
                         "libtbb-dev)\n"));
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
