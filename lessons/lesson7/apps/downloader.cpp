// lesson7-downloader: the seed's 30-line concurrent downloader, on a ThreadPool of blocking libcurl
// transfers.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kit/http_server.hpp"
#include "lesson7/downloader.hpp"
#include "lesson7/thread_pool.hpp"

namespace {

void usage(std::FILE* out) {
    static_cast<void>(std::fprintf(
        out,
        "usage: lesson7-downloader [--threads N] [URL...]\n"
        "Downloads every URL on a pool of N threads (default 20), printing 'url size' as\n"
        "each completes and the total time at the end. With no URL it starts a loopback\n"
        "HTTP server of its own and downloads 200 URLs from it.\n"));
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t threads = 20;
    std::vector<std::string> urls;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            usage(stdout);
            return 0;
        }
        if (arg == "--threads") {
            const char* text = i + 1 < argc ? argv[i + 1] : "";
            char* end = nullptr;
            const long n = std::strtol(text, &end, 10);
            if (*text == '\0' || *end != '\0' || n <= 0 || n > 1000) {
                static_cast<void>(std::fprintf(
                    stderr, "lesson7-downloader: --threads needs a number from 1 to 1000\n"));
                usage(stderr);
                return 2;
            }
            threads = static_cast<std::size_t>(n);
            ++i;
        } else {
            urls.emplace_back(arg);
        }
    }
    try {
        std::unique_ptr<kit::HttpServer> server;
        if (urls.empty()) {
            server = std::make_unique<kit::HttpServer>();
            for (int i = 0; i < 200; ++i) {
                urls.push_back(server->url("/bytes/" + std::to_string(1024 + (i * 997) % 65536)));
            }
        }
        const auto start = std::chrono::steady_clock::now();
        lesson7::ThreadPool pool(threads);
        std::size_t failed = 0;
        lesson7::download_all(pool, urls, [&failed](const lesson7::Download& d) {
            if (d.ok()) {
                static_cast<void>(std::printf("%s %zu\n", d.url.c_str(), d.bytes));
            } else {
                ++failed;
                static_cast<void>(std::printf("%s ERROR %s\n", d.url.c_str(), d.error.c_str()));
            }
        });
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        static_cast<void>(
            std::printf("total time %.3f s for %zu URLs on %zu threads (%zu failed)\n", seconds,
                        urls.size(), threads, failed));
        return failed == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        static_cast<void>(std::fprintf(stderr, "lesson7-downloader: %s\n", e.what()));
        return 2;
    }
}
