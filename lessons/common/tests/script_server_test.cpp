// Self-tests of kit::ScriptServer and kit::TestCa, driven by blocking libcurl transfers (not
// graded).
#include "kit/script_server.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include "kit/test_ca.hpp"

namespace kit {
namespace {

struct Got {
    CURLcode code = CURLE_OK;
    long status = 0;
    std::string body;
    std::size_t writes = 0;  // write callbacks: a drip arrives in many pieces
    std::string error;
};

std::size_t on_write(char* data, std::size_t size, std::size_t nmemb, void* user) {
    auto* got = static_cast<Got*>(user);
    got->body.append(data, size * nmemb);
    ++got->writes;
    return size * nmemb;
}

// One blocking transfer; `share` keeps connections between calls when given.
Got get(const std::string& url, const std::string& ca = "", CURL* reuse = nullptr) {
    Got got;
    CURL* easy = reuse != nullptr ? reuse : curl_easy_init();
    char message[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, message);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    if (!ca.empty()) {
        curl_blob blob{const_cast<char*>(ca.data()), ca.size(), CURL_BLOB_COPY};
        curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob);
    }
    got.code = curl_easy_perform(easy);
    got.error = message;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &got.status);
    if (reuse == nullptr) {
        curl_easy_cleanup(easy);
    }
    return got;
}

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>('a' + static_cast<int>(i % 26));
    }
    return s;
}

TEST(ScriptServer, BytesRandomAndStatus) {
    ScriptServer server;
    const Got bytes = get(server.url("/bytes/1000"));
    ASSERT_EQ(bytes.code, CURLE_OK) << bytes.error;
    EXPECT_EQ(bytes.status, 200);
    EXPECT_EQ(bytes.body, pattern(1000));
    const std::size_t want = ScriptServer::random_size(7, 5000);
    EXPECT_LE(want, 5000U);
    EXPECT_NE(ScriptServer::random_size(7, 5000), ScriptServer::random_size(8, 5000));
    EXPECT_EQ(get(server.url("/random/7/5000")).body.size(), want);
    EXPECT_EQ(get(server.url("/status/503")).status, 503);
    EXPECT_EQ(get(server.url("/nope")).status, 404);
    EXPECT_EQ(get(server.url("/bytes/1?bogus=1")).status, 400);
    EXPECT_EQ(server.requests(), 5U);
}

TEST(ScriptServer, KeepAliveAndCloseAfter) {
    {
        ScriptServer server;
        CURL* easy = curl_easy_init();
        for (int i = 0; i < 5; ++i) {
            EXPECT_EQ(get(server.url("/bytes/10"), "", easy).code, CURLE_OK);
        }
        curl_easy_cleanup(easy);
        EXPECT_EQ(server.connections(), 1U) << "keep-alive: one connection for five requests";
    }
    ScriptServer server(ScriptServer::Options{ScriptServer::Transport::plain, 2});
    CURL* easy = curl_easy_init();
    for (int i = 0; i < 6; ++i) {
        EXPECT_EQ(get(server.url("/bytes/10"), "", easy).code, CURLE_OK);
    }
    curl_easy_cleanup(easy);
    EXPECT_EQ(server.connections(), 3U) << "close_after = 2: six requests need three connections";
}

TEST(ScriptServer, DripArrivesInPieces) {
    ScriptServer server;
    const Got got = get(server.url("/bytes/40?chunk=10&every=5"));
    ASSERT_EQ(got.code, CURLE_OK) << got.error;
    EXPECT_EQ(got.body, pattern(40));
    EXPECT_GE(got.writes, 4U) << "four pieces, each sent after a pause";
}

TEST(ScriptServer, ResetInTheMiddleOfTheBody) {
    ScriptServer server;
    const Got got = get(server.url("/bytes/100000?reset=1000"));
    EXPECT_NE(got.code, CURLE_OK) << "the body was cut short by a reset";
    EXPECT_LE(got.body.size(), 1000U);
    EXPECT_EQ(server.resets(), 1U);
}

TEST(ScriptServer, RendezvousCountsConcurrency) {
    ScriptServer server;
    std::vector<std::thread> threads;
    threads.reserve(4);
    std::vector<Got> got(4);
    for (std::size_t i = 0; i < 4; ++i) {
        threads.emplace_back([&, i] { got[i] = get(server.url("/rendezvous/4")); });
    }
    for (auto& t : threads) {
        t.join();
    }
    for (const Got& g : got) {
        EXPECT_EQ(g.code, CURLE_OK) << g.error;
        EXPECT_EQ(g.body, "ok");
    }
    EXPECT_EQ(server.max_active_requests(), 4U);
    EXPECT_EQ(server.active_requests(), 0U);
}

TEST(ScriptServer, DelayedResponse) {
    ScriptServer server;
    const Got got = get(server.url("/bytes/5?delay=20"));
    EXPECT_EQ(got.code, CURLE_OK) << got.error;
    EXPECT_EQ(got.body, "abcde");
}

TEST(ScriptServer, TlsWithTheThrowawayCa) {
    ScriptServer server(ScriptServer::Options{ScriptServer::Transport::tls, 0});
    ASSERT_EQ(server.url("/").rfind("https://", 0), 0U);
    ASSERT_FALSE(server.ca_pem().empty());
    const Got got = get(server.url("/bytes/70000"), server.ca_pem());
    ASSERT_EQ(got.code, CURLE_OK) << got.error;
    EXPECT_EQ(got.body, pattern(70000));
    const TestCa other;
    const Got rejected = get(server.url("/bytes/10"), other.ca_pem());
    EXPECT_EQ(rejected.code, CURLE_PEER_FAILED_VERIFICATION) << rejected.error;
}

TEST(ScriptServer, TlsHandshakeFailure) {
    ScriptServer server(ScriptServer::Options{ScriptServer::Transport::tls_handshake_failure, 0});
    const Got got = get(server.url("/bytes/10"), server.ca_pem());
    EXPECT_NE(got.code, CURLE_OK);
    EXPECT_FALSE(got.error.empty());
    EXPECT_EQ(server.handshake_failures(), 1U);
}

TEST(ScriptServer, HangIsHeldUntilTheClientLeaves) {
    ScriptServer server;
    CURL* easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 100L);
    Got got;
    curl_easy_setopt(easy, CURLOPT_URL, server.url("/hang").c_str());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    EXPECT_EQ(curl_easy_perform(easy), CURLE_OPERATION_TIMEDOUT);
    curl_easy_cleanup(easy);
    EXPECT_EQ(server.requests(), 0U) << "no response was started";
}

}  // namespace
}  // namespace kit
