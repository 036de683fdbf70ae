// Hidden tests of lesson 7.3, task 4: the CurlMulti glue under stress, over TLS, and with a loop
// that must stay free while transfers wait.
#include "lesson7/async_downloader.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "../public/async_test_support.hpp"
#include "kit/script_server.hpp"
#include "lesson7/aio.hpp"

namespace lesson7::aio {
namespace {

using testing::TestLoop;
using Transport = kit::ScriptServer::Transport;

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>('a' + static_cast<int>(i % 26));
    }
    return s;
}

// Runs `count` transfers of url_for(i), `width` at a time (each Done starts the next one).
std::vector<FetchResult> chain(TestLoop& loop, CurlMulti& multi, int count, int width,
                               const std::function<std::string(int)>& url_for) {
    std::vector<FetchResult> results;
    int next_index = 0;
    std::function<void(FetchResult)> next = [&](FetchResult r) {
        results.push_back(std::move(r));
        if (next_index < count) {
            multi.start(url_for(next_index++), next);
        }
    };
    for (int i = 0; i < width && next_index < count; ++i) {
        multi.start(url_for(next_index++), next);
    }
    EXPECT_TRUE(loop.run(std::chrono::seconds(40))) << "FAILED (hung)";
    return results;
}

TEST(AsyncDownloaderHiddenLoop, TwoHeldRequestsMeet) {
    // The server answers /rendezvous/2 only when both requests are there at once: a loop blocked
    // inside one transfer (curl_easy_perform in a callback) can never send the second.
    kit::ScriptServer server;
    TestLoop loop;
    {
        FetchOptions options;
        options.timeout = std::chrono::seconds(5);
        CurlMulti multi(loop.loop(), options);
        std::vector<FetchResult> results;
        for (int i = 0; i < 2; ++i) {
            multi.start(server.url("/rendezvous/2"),
                        [&](FetchResult r) { results.push_back(std::move(r)); });
        }
        ASSERT_TRUE(loop.run()) << "FAILED (hung)";
        ASSERT_EQ(results.size(), 2U);
        for (const auto& r : results) {
            EXPECT_TRUE(r.ok()) << r.error
                                << " (hint: never block the loop thread: no curl_easy_perform)";
        }
    }
    loop.close();
    EXPECT_EQ(server.max_active_requests(), 2U);
}

TEST(AsyncDownloaderHiddenLoop, OtherHandlesRunWhileATransferWaits) {
    // A repeating timer of the test's own ticks while the server holds the response for 300 ms.
    kit::ScriptServer server;
    TestLoop loop;
    uv_timer_t ticker;
    uv_timer_init(&loop.loop(), &ticker);
    int ticks = 0;
    ticker.data = &ticks;
    {
        CurlMulti multi(loop.loop());
        bool done = false;
        multi.start(server.url("/bytes/10?delay=300"), [&](const FetchResult& r) {
            EXPECT_TRUE(r.ok()) << r.error;
            done = true;
            uv_timer_stop(&ticker);
        });
        uv_timer_start(&ticker, [](uv_timer_t* t) { ++*static_cast<int*>(t->data); }, 10, 10);
        ASSERT_TRUE(loop.run()) << "FAILED (hung)";
        EXPECT_TRUE(done);
        EXPECT_GE(ticks, 3) << "hint: the loop must keep running other callbacks while curl waits";
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&ticker), nullptr);
    loop.close();
}

TEST(AsyncDownloaderHiddenStress, TlsReconnectsEveryRequest) {
    kit::ScriptServer server({Transport::tls, 1});
    TestLoop loop;
    {
        FetchOptions options;
        options.ca_pem = server.ca_pem();
        CurlMulti multi(loop.loop(), options);
        const auto results =
            chain(loop, multi, 80, 10, [&](int) { return server.url("/bytes/700"); });
        ASSERT_EQ(results.size(), 80U);
        for (const auto& r : results) {
            EXPECT_TRUE(r.ok()) << r.error;
            EXPECT_EQ(r.size, 700U);
        }
    }
    loop.close();
    EXPECT_EQ(server.connections(), 80U);
}

TEST(AsyncDownloaderHiddenStress, RandomBodiesKeptExactly) {
    kit::ScriptServer server;
    TestLoop loop;
    {
        FetchOptions options;
        options.keep_body = true;
        CurlMulti multi(loop.loop(), options);
        const auto results = chain(loop, multi, 300, 25, [&](int i) {
            return server.url("/random/" + std::to_string(1000 + i) + "/70000");
        });
        ASSERT_EQ(results.size(), 300U);
        for (const auto& r : results) {
            const auto seed = std::stoull(r.url.substr(r.url.find("/random/") + 8));
            const std::size_t want = kit::ScriptServer::random_size(seed, 70000);
            ASSERT_TRUE(r.body.has_value()) << r.url << ": " << r.error;
            EXPECT_EQ(r.size, want);
            EXPECT_TRUE(r.body.value_or("") == pattern(want)) << r.url << ": the body differs";
        }
    }
    loop.close();
    EXPECT_LE(server.connections(), 25U) << "hint: connections are reused";
}

TEST(AsyncDownloaderHiddenStress, SlowDripArrivesWhole) {
    kit::ScriptServer server;
    TestLoop loop;
    {
        FetchOptions options;
        options.keep_body = true;
        CurlMulti multi(loop.loop(), options);
        const auto results = chain(
            loop, multi, 5, 5, [&](int) { return server.url("/bytes/3000?chunk=300&every=3"); });
        ASSERT_EQ(results.size(), 5U);
        for (const auto& r : results) {
            ASSERT_TRUE(r.body.has_value()) << r.error;
            EXPECT_TRUE(r.body.value_or("") == pattern(3000));
        }
    }
    loop.close();
}

TEST(AsyncDownloaderHiddenErrors, ResetOverTls) {
    kit::ScriptServer server({Transport::tls, 0});
    TestLoop loop;
    {
        FetchOptions options;
        options.ca_pem = server.ca_pem();
        CurlMulti multi(loop.loop(), options);
        const auto results = chain(loop, multi, 3, 3, [&](int i) {
            return server.url(i == 1 ? "/bytes/3000000?reset=5000" : "/bytes/100");
        });
        ASSERT_EQ(results.size(), 3U);
        int failed = 0;
        for (const auto& r : results) {
            if (r.url.find("reset") != std::string::npos) {
                ++failed;
                EXPECT_FALSE(r.error.empty());
                EXPECT_FALSE(r.timed_out) << "hint: CURL_CSELECT_ERR on a poll error";
            } else {
                EXPECT_TRUE(r.ok()) << r.error;
            }
        }
        EXPECT_EQ(failed, 1);
    }
    loop.close();
}

TEST(AsyncDownloaderHiddenErrors, CancelThenStartAgain) {
    kit::ScriptServer server;
    TestLoop loop;
    {
        CurlMulti multi(loop.loop());
        std::vector<std::uint64_t> held;
        held.reserve(5);
        for (int i = 0; i < 5; ++i) {
            held.push_back(multi.start(server.url("/hang"), [](const FetchResult& r) {
                ADD_FAILURE() << "a cancelled transfer got Done: " << r.url;
            }));
        }
        EXPECT_EQ(multi.in_flight(), 5U);
        int ok = 0;
        multi.start(server.url("/bytes/5?delay=30"), [&](const FetchResult& r) {
            for (const auto id : held) {
                EXPECT_TRUE(multi.cancel(id));
            }
            EXPECT_TRUE(r.ok()) << r.error;
            multi.start(server.url("/bytes/6"), [&](const FetchResult& again) {
                EXPECT_EQ(again.size, 6U);
                ++ok;
            });
        });
        ASSERT_TRUE(loop.run()) << "FAILED (hung)";
        EXPECT_EQ(ok, 1);
        EXPECT_EQ(multi.in_flight(), 0U);
    }
    loop.close();
}

TEST(AsyncDownloaderHiddenErrors, CancelledDownloadAllEndsItsFetches) {
    // wait_for cancels download_all while 10 fetches hang and 20 wait for a permit: every fetch
    // must be cancelled and over before download_all's Downloader goes away (ASan sees the rest).
    kit::ScriptServer server;
    auto main = [](std::vector<std::string> urls) -> Task<bool> {
        FetchOptions options;
        try {
            co_await wait_for(download_all(std::move(urls), options, 10),
                              std::chrono::milliseconds(200));
        } catch (const TimeoutError&) {
            co_return true;
        }
        co_return false;
    };
    EXPECT_TRUE(run(main(std::vector<std::string>(30, server.url("/hang")))))
        << "hint: cancelling download_all throws at its co_await; wait_for turns that into "
           "TimeoutError";
}

}  // namespace
}  // namespace lesson7::aio
