// Public tests of lesson 7.3, task 4: the CurlMulti glue (libcurl multi_socket on libuv) against
// the scripted loopback server, plain and TLS.
#include "lesson7/async_downloader.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "async_test_support.hpp"
#include "kit/script_server.hpp"
#include "kit/test_ca.hpp"

namespace lesson7::aio {
namespace {

using testing::TestLoop;
using Transport = kit::ScriptServer::Transport;

// Starts every URL on `multi` at once, runs the loop until all are done, returns the results in
// completion order.
std::vector<FetchResult> fetch_all(TestLoop& loop, CurlMulti& multi,
                                   const std::vector<std::string>& urls) {
    std::vector<FetchResult> results;
    for (const auto& url : urls) {
        multi.start(url, [&results](FetchResult r) { results.push_back(std::move(r)); });
    }
    EXPECT_TRUE(loop.run()) << "FAILED (hung): the transfers did not finish in 20 s; hint: is "
                               "curl's timer started (0 ms = next iteration) and does every poll "
                               "callback call curl_multi_socket_action?";
    return results;
}

TEST(AsyncDownloaderMulti, FetchesOneUrl) {
    kit::ScriptServer server;
    TestLoop loop;
    {
        CurlMulti multi(loop.loop());
        const auto results = fetch_all(loop, multi, {server.url("/bytes/1234")});
        ASSERT_EQ(results.size(), 1U) << "hint: Done is called once per transfer";
        EXPECT_EQ(results[0].url, server.url("/bytes/1234"));
        EXPECT_TRUE(results[0].ok()) << results[0].error;
        EXPECT_EQ(results[0].status, 200);
        EXPECT_EQ(results[0].size, 1234U) << "hint: add up every piece the write callback gets";
        EXPECT_FALSE(results[0].body.has_value()) << "hint: keep_body is off by default";
        EXPECT_EQ(multi.in_flight(), 0U);
    }
    loop.close();
}

TEST(AsyncDownloaderMulti, EveryUrlGetsItsOwnResult) {
    kit::ScriptServer server;
    TestLoop loop;
    {
        CurlMulti multi(loop.loop());
        std::vector<std::string> urls;
        urls.reserve(62);
        for (int i = 0; i < 60; ++i) {
            urls.push_back(server.url("/random/" + std::to_string(i) + "/20000"));
        }
        urls.push_back(server.url("/status/404"));
        urls.push_back(server.url("/status/503"));
        const auto results = fetch_all(loop, multi, urls);
        ASSERT_EQ(results.size(), urls.size());
        std::set<std::string> seen;
        for (const auto& r : results) {
            seen.insert(r.url);
            EXPECT_TRUE(r.error.empty()) << r.url << ": " << r.error;
            if (r.url.find("/status/") != std::string::npos) {
                EXPECT_EQ(std::to_string(r.status), r.url.substr(r.url.size() - 3))
                    << "hint: an HTTP error status is a response (status), not a curl error";
                EXPECT_FALSE(r.ok());
            } else {
                const auto seed = std::stoull(r.url.substr(r.url.find("/random/") + 8));
                EXPECT_EQ(r.size, kit::ScriptServer::random_size(seed, 20000)) << r.url;
                EXPECT_EQ(r.status, 200);
            }
        }
        EXPECT_EQ(seen.size(), urls.size()) << "hint: each URL gets its own result";
    }
    loop.close();
}

TEST(AsyncDownloaderMulti, KeepsTheBodyWhenAsked) {
    kit::ScriptServer server;
    TestLoop loop;
    {
        FetchOptions options;
        options.keep_body = true;
        CurlMulti multi(loop.loop(), options);
        const auto results = fetch_all(loop, multi, {server.url("/bytes/30")});
        ASSERT_EQ(results.size(), 1U);
        ASSERT_TRUE(results[0].body.has_value()) << "hint: FetchOptions::keep_body";
        EXPECT_EQ(results[0].body.value_or(""), "abcdefghijklmnopqrstuvwxyzabcd");
    }
    loop.close();
}

TEST(AsyncDownloaderMulti, ReusesConnections) {
    kit::ScriptServer server;
    TestLoop loop;
    {
        CurlMulti multi(loop.loop());
        // A chain: each Done starts the next transfer, ten chains at a time.
        int left = 100;
        int done = 0;
        std::function<void(FetchResult)> next = [&](const FetchResult& r) {
            EXPECT_TRUE(r.ok()) << r.error;
            ++done;
            if (left > 0) {
                --left;
                multi.start(server.url("/bytes/1024"), next);
            }
        };
        for (int i = 0; i < 10; ++i) {
            --left;
            multi.start(server.url("/bytes/1024"), next);
        }
        ASSERT_TRUE(loop.run()) << "FAILED (hung)";
        EXPECT_EQ(done, 100) << "hint: a Done callback may start the next transfer";
    }
    loop.close();
    EXPECT_EQ(server.requests(), 100U);
    EXPECT_LE(server.connections(), 10U)
        << "hint: one multi handle keeps its connections: 100 transfers, at most 10 at once, "
           "need at most 10 connections";
}

TEST(AsyncDownloaderMulti, DestructionClosesEveryHandle) {
    kit::ScriptServer server;
    TestLoop loop;
    bool called = false;
    {
        CurlMulti multi(loop.loop());
        multi.start(server.url("/hang"), [&](const FetchResult&) { called = true; });
        // Let the transfer connect and send its request: run until the server holds it.
        for (int i = 0; i < 100000 && server.active_requests() == 0; ++i) {
            loop.run_once();
        }
        ASSERT_EQ(server.active_requests(), 1U) << "hint: the request never reached the server";
        EXPECT_FALSE(loop.handles(UV_POLL).empty()) << "hint: one uv_poll_t per socket curl uses";
    }
    EXPECT_TRUE(loop.close()) << "hint: ~CurlMulti closes every poll handle and the timer";
    EXPECT_FALSE(called) << "hint: a transfer abandoned by ~CurlMulti gets no Done callback";
}

TEST(AsyncDownloaderTimer, ZeroMeansTheNextLoopIteration) {
    kit::ScriptServer server;
    TestLoop loop;
    {
        CurlMulti multi(loop.loop());
        // Adding a transfer makes curl ask for a timeout of 0 ms: act at once, but not inside
        // curl_multi_add_handle (re-entrancy) - on the next loop iteration.
        multi.start(server.url("/bytes/1"), [](const FetchResult&) {});
        const auto timers = loop.handles(UV_TIMER);
        ASSERT_EQ(timers.size(), 1U) << "hint: one uv_timer_t for curl's timer";
        EXPECT_NE(uv_is_active(timers[0]), 0) << "hint: start the timer in CURLMOPT_TIMERFUNCTION";
        EXPECT_EQ(uv_timer_get_due_in(reinterpret_cast<uv_timer_t*>(timers[0])), 0U)
            << "hint: a timeout of 0 ms means the next loop iteration: uv_timer_start(t, cb, 0, "
               "0), "
               "not 1 ms";
        ASSERT_TRUE(loop.run());
    }
    loop.close();
}

TEST(AsyncDownloaderTimer, MinusOneStopsTheTimer) {
    kit::ScriptServer server;
    TestLoop loop;
    {
        CurlMulti multi(loop.loop());
        int done = 0;
        for (int i = 0; i < 5; ++i) {
            multi.start(server.url("/bytes/100?delay=5"), [&](const FetchResult&) { ++done; });
        }
        ASSERT_TRUE(loop.run()) << "FAILED (hung): hint: the loop ends by itself once nothing is "
                                   "in flight: timer stopped (-1), poll handles removed";
        EXPECT_EQ(done, 5);
        for (uv_handle_t* t : loop.handles(UV_TIMER)) {
            EXPECT_EQ(uv_is_active(t), 0) << "hint: curl says -1 when it needs no timer: stop it";
        }
        for (uv_handle_t* p : loop.handles(UV_POLL)) {
            EXPECT_EQ(uv_is_active(p), 0)
                << "hint: CURL_POLL_REMOVE: stop and close the poll handle";
        }
    }
    loop.close();
}

TEST(AsyncDownloaderErrors, TimeoutIsReportedAsATimeout) {
    kit::ScriptServer server;
    TestLoop loop;
    {
        FetchOptions options;
        options.timeout = std::chrono::milliseconds(200);
        CurlMulti multi(loop.loop(), options);
        const auto results = fetch_all(loop, multi, {server.url("/hang"), server.url("/bytes/3")});
        ASSERT_EQ(results.size(), 2U);
        EXPECT_EQ(results[0].url, server.url("/bytes/3")) << "hint: results in completion order";
        EXPECT_TRUE(results[0].ok()) << results[0].error;
        EXPECT_TRUE(results[1].timed_out) << "hint: CURLE_OPERATION_TIMEDOUT sets timed_out";
        EXPECT_FALSE(results[1].error.empty()) << "hint: error holds curl's message";
        EXPECT_EQ(results[1].status, 0);
    }
    loop.close();
}

TEST(AsyncDownloaderErrors, ResetInTheBodyIsAnErrorNotATimeout) {
    // The server answers after 500 ms (so curl's own short connect-phase timers are over), sends
    // 1000 body bytes and resets the connection. libuv reports that as a poll callback with
    // status < 0; only CURL_CSELECT_ERR tells curl. Every curl timeout here is 30 s, so a dropped
    // error leaves the transfer hanging past the 10 s guard.
    kit::ScriptServer server;
    TestLoop loop;
    {
        FetchOptions options;
        options.timeout = std::chrono::seconds(30);
        options.connect_timeout = std::chrono::seconds(30);
        CurlMulti multi(loop.loop(), options);
        std::vector<FetchResult> results;
        multi.start(server.url("/bytes/2000000?delay=500&reset=1000"),
                    [&](FetchResult r) { results.push_back(std::move(r)); });
        ASSERT_TRUE(loop.run(std::chrono::seconds(10)))
            << "FAILED (hung): hint: a poll callback with status < 0 must reach curl as "
               "curl_multi_socket_action(fd, CURL_CSELECT_ERR), or the transfer never ends";
        ASSERT_EQ(results.size(), 1U);
        EXPECT_FALSE(results[0].error.empty()) << "hint: the connection was reset mid-body";
        EXPECT_FALSE(results[0].timed_out);
        EXPECT_LE(results[0].size, 1000U);
    }
    loop.close();
    EXPECT_EQ(server.resets(), 1U);
}

TEST(AsyncDownloaderErrors, ConnectionRefused) {
    // A port of our own that nobody listens on: bind, read the port, close.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0) << "socket() failed";
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
    TestLoop loop;
    {
        CurlMulti multi(loop.loop());
        const auto results = fetch_all(loop, multi, {url});
        ASSERT_EQ(results.size(), 1U);
        EXPECT_FALSE(results[0].ok());
        EXPECT_FALSE(results[0].error.empty()) << "hint: error holds curl's message";
        EXPECT_FALSE(results[0].timed_out);
    }
    loop.close();
}

TEST(AsyncDownloaderErrors, CancelStopsATransfer) {
    kit::ScriptServer server;
    TestLoop loop;
    {
        CurlMulti multi(loop.loop());
        bool hang_done = false;
        const auto hang =
            multi.start(server.url("/hang"), [&](const FetchResult&) { hang_done = true; });
        // Cancel the held request from the Done callback of a second one.
        const auto quick = multi.start(server.url("/bytes/1?delay=20"), [&](const FetchResult& r) {
            EXPECT_TRUE(r.ok()) << r.error;
            EXPECT_TRUE(multi.cancel(hang)) << "hint: cancel() of a running transfer is true";
            // The held connection is dropped with its transfer: curl said CURL_POLL_REMOVE, so its
            // poll handle is closing now, and must still exist until its close callback.
            EXPECT_GE(loop.closing(UV_POLL), 1U)
                << "hint: on CURL_POLL_REMOVE, uv_close the poll handle; free it in the close "
                   "callback";
        });
        ASSERT_TRUE(loop.run()) << "FAILED (hung): hint: cancel() removes the easy handle, and "
                                   "curl then removes its socket";
        EXPECT_FALSE(hang_done) << "hint: a cancelled transfer gets no Done callback";
        EXPECT_FALSE(multi.cancel(quick)) << "hint: cancel() of a finished transfer is false";
        EXPECT_EQ(multi.in_flight(), 0U);
    }
    loop.close();
}

TEST(AsyncDownloaderTls, HttpsWithTheThrowawayCa) {
    kit::ScriptServer server({Transport::tls, 0});
    TestLoop loop;
    {
        FetchOptions options;
        options.ca_pem = server.ca_pem();
        options.keep_body = true;
        CurlMulti multi(loop.loop(), options);
        std::vector<std::string> urls;
        urls.reserve(20);
        for (int i = 0; i < 20; ++i) {
            urls.push_back(server.url("/bytes/" + std::to_string(1000 + i)));
        }
        const auto results = fetch_all(loop, multi, urls);
        ASSERT_EQ(results.size(), urls.size());
        for (const auto& r : results) {
            EXPECT_TRUE(r.ok()) << r.url << ": " << r.error
                                << " (hint: FetchOptions::ca_pem goes to CURLOPT_CAINFO_BLOB)";
            EXPECT_EQ(r.size, std::stoul(r.url.substr(r.url.rfind('/') + 1)));
        }
    }
    loop.close();
}

TEST(AsyncDownloaderTls, AnUntrustedCertificateIsRefused) {
    kit::ScriptServer server({Transport::tls, 0});
    const kit::TestCa stranger;
    TestLoop loop;
    {
        FetchOptions options;
        options.ca_pem = stranger.ca_pem();
        CurlMulti multi(loop.loop(), options);
        const auto results = fetch_all(loop, multi, {server.url("/bytes/10")});
        ASSERT_EQ(results.size(), 1U);
        EXPECT_FALSE(results[0].ok())
            << "hint: verify the peer: never turn CURLOPT_SSL_VERIFYPEER off";
        EXPECT_NE(results[0].error.find("certificate"), std::string::npos) << results[0].error;
    }
    loop.close();
}

TEST(AsyncDownloaderTls, AFailedHandshakeIsAnError) {
    kit::ScriptServer server({Transport::tls_handshake_failure, 0});
    TestLoop loop;
    {
        FetchOptions options;
        options.ca_pem = server.ca_pem();
        CurlMulti multi(loop.loop(), options);
        const auto results = fetch_all(loop, multi, {server.url("/bytes/10")});
        ASSERT_EQ(results.size(), 1U);
        EXPECT_FALSE(results[0].error.empty());
        EXPECT_FALSE(results[0].timed_out) << "hint: the reset must reach curl (CURL_CSELECT_ERR)";
    }
    loop.close();
    EXPECT_EQ(server.handshake_failures(), 1U);
}

TEST(AsyncDownloaderSockets, ReconnectsWhenTheServerCloses) {
    // Every connection serves one request, so curl closes and opens sockets all the time and the
    // kernel hands out the same numbers again while old poll handles are still closing.
    kit::ScriptServer server({Transport::plain, 1});
    TestLoop loop;
    {
        CurlMulti multi(loop.loop());
        int left = 150;
        int ok = 0;
        std::function<void(FetchResult)> next = [&](const FetchResult& r) {
            EXPECT_TRUE(r.ok()) << r.url << ": " << r.error;
            ok += r.ok() ? 1 : 0;
            if (left > 0) {
                --left;
                multi.start(server.url("/bytes/512"), next);
            }
        };
        for (int i = 0; i < 10; ++i) {
            --left;
            multi.start(server.url("/bytes/512"), next);
        }
        ASSERT_TRUE(loop.run()) << "FAILED (hung)";
        EXPECT_EQ(ok, 150);
    }
    loop.close();
    EXPECT_EQ(server.connections(), 150U) << "the server closes after every response";
}

}  // namespace
}  // namespace lesson7::aio

// --- The coroutine layer: Downloader::fetch and download_all inside aio::run() ------------------

namespace lesson7::aio {
namespace {

Task<FetchResult> fetch_one(std::string url, FetchOptions options) {
    Downloader dl(std::move(options), 10);
    co_return co_await dl.fetch(std::move(url));
}

TEST(AsyncDownloaderFetch, FetchInsideRun) {
    kit::ScriptServer server;
    const FetchResult r = run(fetch_one(server.url("/bytes/4321"), {}));
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.size, 4321U);
    EXPECT_EQ(r.url, server.url("/bytes/4321"));
}

TEST(AsyncDownloaderFetch, DownloadAllInCompletionOrder) {
    kit::ScriptServer server;
    std::vector<std::string> urls{server.url("/bytes/7?delay=700")};
    for (int i = 0; i < 20; ++i) {
        urls.push_back(server.url("/bytes/" + std::to_string(100 + i)));
    }
    std::vector<std::string> reported;
    const auto results =
        run(download_all(urls, {}, 10, [&](const FetchResult& r) { reported.push_back(r.url); }));
    ASSERT_EQ(results.size(), urls.size()) << "hint: one result per URL";
    ASSERT_EQ(reported.size(), urls.size()) << "hint: on_done once per URL";
    for (std::size_t i = 0; i < results.size(); ++i) {
        EXPECT_EQ(results[i].url, reported[i]) << "hint: results come back in completion order";
        EXPECT_TRUE(results[i].ok()) << results[i].error;
    }
    EXPECT_EQ(results.back().url, urls[0])
        << "hint: the slow URL (700 ms) finishes last: as_completed, not input order";
    EXPECT_EQ(results.back().size, 7U);
}

TEST(AsyncDownloaderFetch, HttpsThroughDownloadAll) {
    kit::ScriptServer server({Transport::tls, 0});
    FetchOptions options;
    options.ca_pem = server.ca_pem();
    std::vector<std::string> urls;
    urls.reserve(30);
    for (int i = 0; i < 30; ++i) {
        urls.push_back(server.url("/bytes/1024"));
    }
    const auto results = run(download_all(urls, options, 10));
    ASSERT_EQ(results.size(), 30U);
    for (const auto& r : results) {
        EXPECT_TRUE(r.ok()) << r.error;
    }
    // At most 10 in flight, so 10 connections would do; curl may drop an idle TLS connection it
    // finds readable and open another, so allow a few: without reuse it would be 30.
    EXPECT_LE(server.connections(), 15U) << "hint: one Downloader, one connection cache";
}

TEST(AsyncDownloaderFetch, CancelledFetchStopsItsTransfer) {
    kit::ScriptServer server;
    auto main = [](std::string hang, std::string quick) -> Task<std::size_t> {
        Downloader dl({}, 1);
        bool timed_out = false;
        try {
            co_await wait_for(dl.fetch(hang), std::chrono::milliseconds(100));
        } catch (const TimeoutError&) {
            timed_out = true;
        }
        EXPECT_TRUE(timed_out) << "hint: wait_for cancels the fetch; its co_await throws";
        EXPECT_EQ(dl.multi().in_flight(), 0U)
            << "hint: cancelling fetch() must cancel the transfer (Completion's on_cancel)";
        // The only permit must be back: this fetch would wait forever otherwise.
        const FetchResult r = co_await wait_for(dl.fetch(quick), std::chrono::seconds(10));
        co_return r.size;
    };
    EXPECT_EQ(run(main(server.url("/hang"), server.url("/bytes/9"))), 9U);
}

TEST(AsyncDownloaderLimit, AtMostTenInFlight) {
    // /rendezvous/10 answers only when ten are held at once: with a limit of 10, three waves of
    // ten meet; an eleventh in flight shows up in the server's max_active_requests.
    kit::ScriptServer server;
    FetchOptions options;
    options.timeout = std::chrono::seconds(5);
    const std::vector<std::string> urls(30, server.url("/rendezvous/10"));
    const auto results = run(download_all(urls, options, 10));
    ASSERT_EQ(results.size(), 30U);
    for (const auto& r : results) {
        EXPECT_TRUE(r.ok()) << r.error << " (hint: ten must be in flight at once)";
    }
    EXPECT_EQ(server.max_active_requests(), 10U)
        << "hint: at most `limit` transfers in flight: take a Semaphore permit before start()";
}

TEST(AsyncDownloaderLimit, ALimitOfThree) {
    kit::ScriptServer server;
    FetchOptions options;
    options.timeout = std::chrono::seconds(5);
    const std::vector<std::string> urls(12, server.url("/rendezvous/3"));
    const auto results = run(download_all(urls, options, 3));
    ASSERT_EQ(results.size(), 12U);
    for (const auto& r : results) {
        EXPECT_TRUE(r.ok()) << r.error;
    }
    EXPECT_EQ(server.max_active_requests(), 3U);
    EXPECT_LE(server.connections(), 3U) << "hint: connections are reused between waves";
}

TEST(AsyncDownloaderLimit, ZeroIsRejected) {
    auto main = []() -> Task<bool> {
        try {
            Downloader dl({}, 0);
        } catch (const std::invalid_argument&) {
            co_return true;
        }
        co_return false;
    };
    EXPECT_TRUE(run(main())) << "hint: a limit of 0 would hang every fetch: std::invalid_argument";
}

}  // namespace
}  // namespace lesson7::aio
