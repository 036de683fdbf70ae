// Public tests of lesson 7.2's downloader: fetch_size on libcurl, download_all on a ThreadPool(20).
#include "lesson7/downloader.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kit/http_server.hpp"

namespace lesson7 {
namespace {

TEST(Downloader, FetchSizeCountsTheBody) {
    kit::HttpServer server;
    EXPECT_EQ(fetch_size(server.url("/bytes/1234")), 1234U) << "hint: count every byte of the body";
    EXPECT_EQ(fetch_size(server.url("/bytes/0")), 0U);
    EXPECT_EQ(fetch_size(server.url("/bytes/1048576")), 1048576U)
        << "hint: the write callback is called many times for a large body: add them all up";
}

TEST(Downloader, FetchSizeThrowsOnHttpErrors) {
    kit::HttpServer server;
    try {
        fetch_size(server.url("/status/404"));
        ADD_FAILURE() << "hint: an HTTP status >= 400 is an error: throw std::runtime_error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("/status/404"), std::string::npos)
            << "hint: the message names the URL";
    }
    EXPECT_THROW(fetch_size(server.url("/status/400")), std::runtime_error)
        << "hint: 400 is the first error status";
    EXPECT_EQ(fetch_size(server.url("/status/399")), 0U)
        << "hint: a status below 400 is not an error (and fetch_size follows no redirect)";
}

TEST(Downloader, DownloadsTwoHundredUrlsOnTwentyThreads) {
    kit::HttpServer server;
    // The first 20 URLs are answered only while all 20 are requested at once (the server holds
    // each until the 20th arrives): twenty transfers must really be in flight together, one per
    // worker. Fetching one URL at a time would wait for the first of them until it times out.
    constexpr std::size_t kTogether = 20;
    std::vector<std::string> urls;
    urls.reserve(200);
    for (std::size_t i = 0; i < 200; ++i) {
        urls.push_back(i < kTogether ? server.url("/rendezvous/20")
                                     : server.url("/bytes/" + std::to_string((i * 37) % 5000)));
    }
    ThreadPool pool(20);
    std::vector<std::string> reported;
    const auto caller = std::this_thread::get_id();
    bool all_on_caller = true;
    auto results = download_all(pool, urls, [&](const Download& d) {
        all_on_caller = all_on_caller && std::this_thread::get_id() == caller;
        reported.push_back(d.url);
    });
    ASSERT_EQ(results.size(), urls.size()) << "hint: one Download per URL";
    for (std::size_t i = 0; i < urls.size(); ++i) {
        EXPECT_EQ(results[i].url, urls[i]) << "hint: the returned vector is in input order";
        EXPECT_TRUE(results[i].ok())
            << results[i].error
            << (i < kTogether ? "\nhint: submit every URL before waiting for any: 20 transfers "
                                "must run at the same time on ThreadPool(20)"
                              : "");
        EXPECT_EQ(results[i].bytes, i < kTogether ? 2U : (i * 37) % 5000);
    }
    EXPECT_EQ(reported.size(), urls.size()) << "hint: call on_done once per URL";
    std::set<std::string> distinct(urls.begin(), urls.end());
    EXPECT_EQ(std::set<std::string>(reported.begin(), reported.end()), distinct);
    EXPECT_TRUE(all_on_caller) << "hint: on_done runs in the thread that called download_all";
    EXPECT_EQ(server.requests(), 200U);
}

}  // namespace
}  // namespace lesson7
