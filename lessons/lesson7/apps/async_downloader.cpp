// lesson7-async-downloader: the seed's asyncio downloader in C++: libcurl multi_socket on one libuv
// loop, at most N transfers in flight, results printed in completion order.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kit/script_server.hpp"
#include "lesson7/aio.hpp"
#include "lesson7/async_downloader.hpp"

namespace {

void usage(std::FILE* out) {
    static_cast<void>(std::fprintf(
        out,
        "usage: lesson7-async-downloader [--limit N] [--count N] [--size BYTES] [--tls] [--quiet]\n"
        "                                [URL...]\n"
        "Downloads every URL on one event loop with at most N transfers in flight (default 10),\n"
        "printing 'url size' in completion order and the total time at the end. With no URL it\n"
        "starts a loopback server of its own and downloads --count URLs (default 200) of --size\n"
        "bytes each (default: sizes from 1 to 64 KiB), over HTTPS with a throwaway CA if --tls.\n"
        "--quiet prints only the summary, with the process's peak resident memory.\n"));
}

// Parses the number after argv[i] into `out`; false (with a message) if it is not in [lo, hi].
bool number_arg(int argc, char** argv, int& i, long lo, long hi, long& out) {
    const char* text = i + 1 < argc ? argv[i + 1] : "";
    char* end = nullptr;
    const long n = std::strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || n < lo || n > hi) {
        static_cast<void>(
            std::fprintf(stderr, "lesson7-async-downloader: %s needs a number from %ld to %ld\n",
                         argv[i], lo, hi));
        return false;
    }
    out = n;
    ++i;
    return true;
}

lesson7::aio::Task<std::vector<lesson7::aio::FetchResult>> main_task(
    std::vector<std::string> urls, lesson7::aio::FetchOptions options, std::size_t limit,
    bool quiet) {
    co_return co_await lesson7::aio::download_all(
        std::move(urls), std::move(options), limit, [quiet](const lesson7::aio::FetchResult& r) {
            if (quiet) {
                return;
            }
            if (r.ok()) {
                static_cast<void>(std::printf("%s %zu\n", r.url.c_str(), r.size));
            } else if (r.error.empty()) {
                static_cast<void>(std::printf("%s HTTP %ld\n", r.url.c_str(), r.status));
            } else {
                static_cast<void>(std::printf("%s ERROR %s\n", r.url.c_str(), r.error.c_str()));
            }
        });
}

}  // namespace

int main(int argc, char** argv) {
    long limit = 10;
    long count = 200;
    long size = -1;
    bool tls = false;
    bool quiet = false;
    std::vector<std::string> urls;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            usage(stdout);
            return 0;
        }
        bool ok = true;
        if (arg == "--limit") {
            ok = number_arg(argc, argv, i, 1, 10000, limit);
        } else if (arg == "--count") {
            ok = number_arg(argc, argv, i, 1, 10000000, count);
        } else if (arg == "--size") {
            ok = number_arg(argc, argv, i, 0, 256L << 20, size);
        } else if (arg == "--tls") {
            tls = true;
        } else if (arg == "--quiet") {
            quiet = true;
        } else if (arg.rfind("--", 0) == 0) {
            static_cast<void>(
                std::fprintf(stderr, "lesson7-async-downloader: unknown option '%s'\n", argv[i]));
            ok = false;
        } else {
            urls.emplace_back(arg);
        }
        if (!ok) {
            usage(stderr);
            return 2;
        }
    }
    try {
        std::unique_ptr<kit::ScriptServer> server;
        lesson7::aio::FetchOptions options;
        if (urls.empty()) {
            using Transport = kit::ScriptServer::Transport;
            server = std::make_unique<kit::ScriptServer>(
                kit::ScriptServer::Options{tls ? Transport::tls : Transport::plain, 0});
            options.ca_pem = server->ca_pem();
            for (long i = 0; i < count; ++i) {
                const long bytes = size >= 0 ? size : 1 + (i * 997) % 65536;
                urls.push_back(server->url("/bytes/" + std::to_string(bytes)));
            }
        }
        const std::size_t n = urls.size();
        const auto start = std::chrono::steady_clock::now();
        const auto results = lesson7::aio::run(
            main_task(std::move(urls), options, static_cast<std::size_t>(limit), quiet));
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::size_t failed = 0;
        std::size_t bytes = 0;
        for (const auto& r : results) {
            failed += r.ok() ? 0 : 1;
            bytes += r.size;
        }
        rusage usage_now{};
        getrusage(RUSAGE_SELF, &usage_now);
        static_cast<void>(std::printf(
            "total time %.3f s for %zu URLs (%zu bytes), at most %ld in flight, %zu failed; "
            "%.0f URLs/s; peak RSS %.1f MiB\n",
            seconds, n, bytes, limit, failed, static_cast<double>(n) / seconds,
            static_cast<double>(usage_now.ru_maxrss) / 1024.0));
        return failed == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        static_cast<void>(std::fprintf(stderr, "lesson7-async-downloader: %s\n", e.what()));
        return 2;
    }
}
