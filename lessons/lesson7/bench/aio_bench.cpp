// Lesson 7.3 benchmark: the cost of one coroutine task (create, schedule, run to completion,
// await) on the reference aio loop, against Asio's co_spawn and Python's asyncio in the same run.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lesson7/aio.hpp"

#if defined(KIT_HAVE_ASIO) && KIT_HAVE_ASIO && __has_include(<asio.hpp>)
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#endif
// The Asio peer needs Asio's C++20 coroutines (ASIO_HAS_CO_AWAIT): g++ has them; Asio 1.22 does not
// turn them on for clang with libstdc++, so a clang build (and clang-tidy) leaves the peer out.
#if defined(ASIO_HAS_CO_AWAIT)
#define LESSON7_BENCH_ASIO 1
#else
#define LESSON7_BENCH_ASIO 0
#endif

namespace {

namespace aio = lesson7::aio;

// Nanoseconds per task of each peer, filled by the runs, compared in main().
double aio_ns = 0;
double asio_ns = 0;
double python_ns = 0;

double ns_per_iteration(const benchmark::State& state, double seconds) {
    return seconds * 1e9 / static_cast<double>(state.iterations());
}

aio::Task<int> child() {
    co_return 1;
}

aio::Task<void> spawn_and_await(benchmark::State& state) {
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        auto task = aio::create_task(child());
        benchmark::DoNotOptimize(co_await task);
    }
}

// One task per iteration: create_task (frame + scheduling), one loop step to run it, the wake-up of
// the awaiting main, and the await.
void BM_AioCreateTaskAndAwait(benchmark::State& state) {
    const auto t0 = std::chrono::steady_clock::now();
    aio::run(spawn_and_await(state));
    aio_ns = ns_per_iteration(
        state, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AioCreateTaskAndAwait)->UseRealTime();

aio::Task<void> await_lazy(benchmark::State& state) {
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        benchmark::DoNotOptimize(co_await child());
    }
}

// The floor: a lazy Task awaited directly (a frame and two hand-offs, no scheduling).
void BM_AioAwaitLazyTask(benchmark::State& state) {
    aio::run(await_lazy(state));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AioAwaitLazyTask)->UseRealTime();

#if LESSON7_BENCH_ASIO
asio::awaitable<int> asio_child() {
    co_return 1;
}

asio::awaitable<void> asio_spawn_and_await(benchmark::State& state) {
    auto ex = co_await asio::this_coro::executor;
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        benchmark::DoNotOptimize(co_await asio::co_spawn(ex, asio_child(), asio::use_awaitable));
    }
}

// The same work in Asio: co_spawn a child on the io_context and await its completion.
void BM_AsioCoSpawnAndAwait(benchmark::State& state) {
    const auto t0 = std::chrono::steady_clock::now();
    asio::io_context ctx(1);
    asio::co_spawn(ctx, asio_spawn_and_await(state), asio::detached);
    ctx.run();
    asio_ns = ns_per_iteration(
        state, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AsioCoSpawnAndAwait)->UseRealTime();
#endif

// The asyncio twin (aio_baseline.py next to this file), run once in this process's run: the same
// loop of `await asyncio.create_task(child())`. Reports its own per-task time.
std::string baseline_script() {
    const std::string here = __FILE__;
    std::string name = here.substr(0, here.rfind('/') + 1) + "aio_baseline.py";
    if (name.front() == '/' || access(name.c_str(), R_OK) == 0) {
        return name;  // absolute, or relative to where we run (a build by hand from the root)
    }
    // Meson compiles from the build root, and this binary lives in <build root>/kit/.
    std::array<char, 4096> exe{};
    const ssize_t n = readlink("/proc/self/exe", exe.data(), exe.size() - 1);
    std::string dir = n > 0 ? std::string(exe.data(), static_cast<std::size_t>(n)) : ".";
    dir = dir.substr(0, dir.rfind('/'));  // .../kit
    dir = dir.substr(0, dir.rfind('/'));  // the build root
    return dir + "/" + name;
}

void BM_PythonAsyncioCreateTaskAndAwait(benchmark::State& state) {
    const std::string cmd = "/usr/bin/python3 '" + baseline_script() + "' --tasks 200000";
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        // NOLINTNEXTLINE(cert-env33-c): a fixed command, the system interpreter on our own script
        FILE* p = popen(cmd.c_str(), "r");
        if (p == nullptr) {
            state.SkipWithError("could not start /usr/bin/python3");
            return;
        }
        std::array<char, 128> line{};
        const bool read = std::fgets(line.data(), static_cast<int>(line.size()), p) != nullptr;
        const std::string_view prefix = "asyncio_us_per_task=";
        const std::string text = read ? std::string(line.data()) : std::string();
        char* end = nullptr;
        const double us =
            text.rfind(prefix, 0) == 0 ? std::strtod(text.c_str() + prefix.size(), &end) : 0.0;
        if (pclose(p) != 0 || end == nullptr || us <= 0) {
            state.SkipWithError(
                ("the asyncio baseline failed (run it by hand: " + cmd + ")").c_str());
            return;
        }
        python_ns = us * 1000;
        state.counters["ns_per_task"] = python_ns;
    }
}
BENCHMARK(BM_PythonAsyncioCreateTaskAndAwait)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (aio_ns > 0) {
        std::printf("\naio create_task + await: %.0f ns per task\n", aio_ns);
        if (asio_ns > 0) {
            std::printf(
                "asio co_spawn + await:   %.0f ns per task (aio/asio = %.2f; target <= 1)\n",
                asio_ns, aio_ns / asio_ns);
        }
        if (python_ns > 0) {
            std::printf("asyncio create_task:     %.0f ns per task (asyncio/aio = %.1fx)\n",
                        python_ns, python_ns / aio_ns);
        }
    }
    return 0;
}
