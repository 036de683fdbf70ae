// Lesson 7.3 benchmark: the async downloader (libcurl multi_socket on libuv, 10 in flight) against
// aiohttp, curl's CLI (--parallel --parallel-max 10) and the blocking 7.2 downloader on
// ThreadPool(20), all fetching 1 KiB bodies from the same loopback server in the same run.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "kit/script_server.hpp"
#include "lesson7/aio.hpp"
#include "lesson7/async_downloader.hpp"
#include "lesson7/downloader.hpp"
#include "lesson7/thread_pool.hpp"

namespace {

// Reads a positive number of seconds from the start of text; false when there is none.
bool parse_seconds(const char* text, double& seconds) {
    char* end = nullptr;
    seconds = std::strtod(text, &end);
    return end != text;
}

constexpr int kUrls = 2000;
constexpr std::size_t kLimit = 10;

kit::ScriptServer& server() {
    static kit::ScriptServer s;
    return s;
}

std::string url() {
    return server().url("/bytes/1024");
}

void BM_Async_Reference(benchmark::State& state) {
    const std::vector<std::string> urls(kUrls, url());
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        const auto results = lesson7::aio::run(lesson7::aio::download_all(urls, {}, kLimit));
        if (results.size() != urls.size() || !results.back().ok()) {
            state.SkipWithError("the async downloader failed");
        }
    }
    state.SetItemsProcessed(state.iterations() * kUrls);
}
BENCHMARK(BM_Async_Reference)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Blocking72_ThreadPool20(benchmark::State& state) {
    const std::vector<std::string> urls(kUrls, url());
    lesson7::ThreadPool pool(20);
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        const auto results = lesson7::download_all(pool, urls, {});
        if (results.size() != urls.size() || !results.back().ok()) {
            state.SkipWithError("the 7.2 downloader failed");
        }
    }
    state.SetItemsProcessed(state.iterations() * kUrls);
}
BENCHMARK(BM_Blocking72_ThreadPool20)->Unit(benchmark::kMillisecond)->UseRealTime();

// curl's CLI reads its URLs from a config file; the time includes starting the process (a few ms).
void BM_CurlCli_Parallel10(benchmark::State& state) {
    const std::string config = "/tmp/lesson7-bench-curl-" + std::to_string(::getpid()) + ".cfg";
    {
        std::ofstream out(config);
        for (int i = 0; i < kUrls; ++i) {
            out << "url = \"" << url() << "\"\noutput = \"/dev/null\"\n";
        }
    }
    const std::string cmd = "curl --silent --no-progress-meter --fail --parallel --parallel-max " +
                            std::to_string(kLimit) + " --config " + config;
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        if (std::system(cmd.c_str()) != 0) {  // NOLINT(cert-env33-c): a fixed command, our file
            state.SkipWithError("curl --parallel failed (is curl installed? ci/install-deps)");
            break;
        }
    }
    std::filesystem::remove(config);
    state.SetItemsProcessed(state.iterations() * kUrls);
}
BENCHMARK(BM_CurlCli_Parallel10)->Unit(benchmark::kMillisecond)->UseRealTime();

// The Python script times its own downloads (interpreter start-up excluded): manual time.
void BM_Aiohttp_Semaphore10(benchmark::State& state) {
    namespace fs = std::filesystem;
    const fs::path here = fs::canonical("/proc/self/exe").parent_path();
    fs::path script = here / "../../lessons/lesson7/bench/async_downloader_aiohttp.py";
    if (!fs::exists(script)) {
        script = "lessons/lesson7/bench/async_downloader_aiohttp.py";
    }
    const std::string cmd = "/usr/bin/python3 " + script.string() + " " + url() + " " +
                            std::to_string(kUrls) + " " + std::to_string(kLimit);
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Google Benchmark's loop
        // The peer is a fixed command line of this benchmark (python3, the script, the server's
        // URL).
        std::unique_ptr<FILE, decltype(&pclose)> pipe(
            popen(cmd.c_str(), "r"),  // NOLINT(cert-env33-c)
            &pclose);
        double seconds = 0;
        std::array<char, 256> line{};
        if (!pipe || std::fgets(line.data(), line.size(), pipe.get()) == nullptr ||
            !parse_seconds(line.data(), seconds) || seconds <= 0) {
            state.SkipWithError("the aiohttp peer failed (apt-get install python3-aiohttp)");
            break;
        }
        state.SetIterationTime(seconds);
    }
    state.SetItemsProcessed(state.iterations() * kUrls);
}
BENCHMARK(BM_Aiohttp_Semaphore10)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
