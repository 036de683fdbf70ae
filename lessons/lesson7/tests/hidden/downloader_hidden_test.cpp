// Hidden tests of lesson 7.2's downloader: real overlap on the pool, per-URL errors, completion
// order.
#include "lesson7/downloader.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "kit/http_server.hpp"

namespace lesson7 {
namespace {

TEST(DownloaderHidden, TransfersReallyOverlap) {
    kit::HttpServer server;
    // /rendezvous/20 answers only when 20 requests wait at once: 20 serial transfers would time
    // out (fetch_size's 10 s timeout) instead of completing.
    std::vector<std::string> urls(20, server.url("/rendezvous/20"));
    ThreadPool pool(20);
    auto results = download_all(pool, urls, {});
    for (const auto& d : results) {
        EXPECT_TRUE(d.ok()) << d.error << " (hint: run every transfer as its own pool task)";
        EXPECT_EQ(d.bytes, 2U);
    }
}

TEST(DownloaderHidden, AFailedUrlIsReportedNotThrown) {
    kit::HttpServer server;
    std::vector<std::string> urls{server.url("/bytes/10"), server.url("/status/500"),
                                  "http://127.0.0.1:1/refused", server.url("/bytes/20")};
    ThreadPool pool(4);
    int calls = 0;
    auto results = download_all(pool, urls, [&calls](const Download&) { ++calls; });
    ASSERT_EQ(results.size(), 4U);
    EXPECT_TRUE(results[0].ok());
    EXPECT_FALSE(results[1].ok()) << "hint: HTTP 500 is an error for that URL only";
    EXPECT_FALSE(results[2].ok()) << "hint: a refused connection is an error for that URL only";
    EXPECT_EQ(results[3].bytes, 20U);
    EXPECT_EQ(results[1].bytes, 0U);
    EXPECT_EQ(calls, 4);
}

TEST(DownloaderHidden, ReportsInCompletionOrder) {
    kit::HttpServer server;
    // The slow URL comes first in the input but must be reported last.
    std::vector<std::string> urls{server.url("/delay/1000"), server.url("/bytes/1"),
                                  server.url("/bytes/2")};
    ThreadPool pool(3);
    std::vector<std::string> order;
    download_all(pool, urls, [&order](const Download& d) { order.push_back(d.url); });
    ASSERT_EQ(order.size(), 3U);
    EXPECT_EQ(order.back(), urls[0]) << "hint: report with as_completed, not in input order";
}

TEST(DownloaderHidden, FetchSizeGivesUpAfterItsTimeout) {
    kit::HttpServer server;
    // The server answers after 5 s; a 200 ms timeout must end the transfer long before.
    try {
        fetch_size(server.url("/delay/5000"), std::chrono::milliseconds(200));
        ADD_FAILURE() << "hint: pass the timeout to libcurl (CURLOPT_TIMEOUT_MS)";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("/delay/5000"), std::string::npos) << e.what();
    }
}

TEST(DownloaderHidden, EmptyListDoesNothing) {
    ThreadPool pool(2);
    EXPECT_TRUE(download_all(pool, {}, {}).empty());
}

}  // namespace
}  // namespace lesson7
