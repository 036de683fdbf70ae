// A scripted loopback HTTP/1.1 server, plain or TLS, for tests, apps and benchmarks that need a
// server which misbehaves on purpose (namespace kit). kit::HttpServer is the simple sibling.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "kit/test_ca.hpp"

namespace kit {

// Serves HTTP/1.1 on 127.0.0.1, on a port the kernel picks, from one thread of its own running an
// epoll loop: many concurrent keep-alive connections, one request at a time per connection.
//
// Routes (GET; other methods get 405, unknown paths 404). Bodies are 'a'..'z' repeated, counted
// from the first body byte:
//   /bytes/N           200 with exactly N body bytes (N <= 256 MiB).
//   /random/SEED/MAX   200 with random_size(SEED, MAX) body bytes: "random" sizes a test can
//   predict. /status/C          status C (100 < C < 600) with an empty body (or ?size=N bytes).
//   /rendezvous/K      held until K requests for /rendezvous/K are held at once, then all get 200
//                      "ok": proof over HTTP that K requests really overlap.
//   /hang              never answered; the connection stays open until the client gives up.
// Modifiers, as a query on any route (combine freely):
//   ?delay=MS          wait MS milliseconds before sending the response head (a timer, not a
//   sleep). ?chunk=B&every=MS  a slow drip: the body goes out B bytes at a time, one piece every MS
//   ms. ?reset=K           send the head and the first K body bytes, then reset the connection
//   (RST),
//                      although Content-Length announced the whole body.
// A request with "Connection: close" (or Options::close_after) closes its connection after the
// response.
//
// Transports: plain HTTP, TLS (OpenSSL, with a certificate from a TestCa made at construction:
// give ca_pem() to the client), or a TLS handshake failure (the server reads the ClientHello and
// resets the connection).
//
// Counters (any thread, any time): connections accepted, responses started (every status), the
// requests in service now and the most ever in service at once (from the parsed request to the last
// byte of its response handed to the kernel), TLS handshakes that failed, connections reset.
//
// Threads: the constructor starts the server thread; every member may be called from any thread.
// Errors: the constructor throws std::system_error if it cannot create, bind or listen, and
// std::runtime_error if OpenSSL cannot make the certificate or the TLS context.
// Lifetime: the destructor (or stop()) closes every connection and joins the server thread.
class ScriptServer {
  public:
    enum class Transport { plain, tls, tls_handshake_failure };
    struct Options {
        Transport transport = Transport::plain;
        std::size_t close_after = 0;  // close each connection after this many responses (0: never)
    };

    ScriptServer();
    explicit ScriptServer(Options options);
    ~ScriptServer();
    ScriptServer(const ScriptServer&) = delete;
    ScriptServer& operator=(const ScriptServer&) = delete;
    ScriptServer(ScriptServer&&) = delete;
    ScriptServer& operator=(ScriptServer&&) = delete;

    std::uint16_t port() const { return port_; }
    // "http://127.0.0.1:PORT" (or "https://...") followed by `path` (which should start with '/').
    std::string url(std::string_view path) const;
    // The CA that signed this server's certificate (PEM); empty for a plain server.
    const std::string& ca_pem() const;

    // The body size of /random/SEED/MAX: a fixed function of its arguments, in [0, MAX].
    static std::size_t random_size(std::uint64_t seed, std::size_t max);

    std::uint64_t connections() const { return connections_.load(); }
    std::uint64_t requests() const { return requests_.load(); }
    std::size_t active_requests() const { return active_.load(); }
    std::size_t max_active_requests() const { return max_active_.load(); }
    std::uint64_t handshake_failures() const { return handshake_failures_.load(); }
    std::uint64_t resets() const { return resets_.load(); }

    // Stops serving: closes the listener and every connection, joins the thread. Idempotent.
    void stop();

  private:
    struct Tls;
    void run();

    Options options_;
    std::unique_ptr<TestCa> ca_;
    std::unique_ptr<Tls> tls_;
    int listen_fd_ = -1;
    int wake_fd_ = -1;  // an eventfd: stop() writes to it to end run()
    std::uint16_t port_ = 0;
    std::atomic<std::uint64_t> connections_{0};
    std::atomic<std::uint64_t> requests_{0};
    std::atomic<std::size_t> active_{0};
    std::atomic<std::size_t> max_active_{0};
    std::atomic<std::uint64_t> handshake_failures_{0};
    std::atomic<std::uint64_t> resets_{0};
    std::atomic<bool> stopped_{false};
    std::thread thread_;
};

}  // namespace kit
