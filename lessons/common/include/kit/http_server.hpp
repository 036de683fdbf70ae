// A loopback HTTP/1.1 server fixture for tests, apps and benchmarks of every lesson (namespace
// kit).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

namespace kit {

// Serves plain HTTP/1.1 on 127.0.0.1, on a port the kernel picks (bind to port 0), from one thread
// of its own running an epoll loop: many concurrent connections, keep-alive and pipelining.
//
// Routes (GET only; anything else is 404, other methods 405):
//   /bytes/N        200 with a body of exactly N bytes ('a'..'z' repeated), N <= 256 MiB.
//   /status/C       status C (100 < C < 600) with an empty body.
//   /delay/MS       200 with body "ok" after MS milliseconds (a timer: the server is not blocked).
//   /rendezvous/K   held until K requests for /rendezvous/K are waiting at once, then all K get
//                   200 "ok": a latch over HTTP, for tests that prove requests really overlap.
// "Connection: close" in a request closes the connection after its response; otherwise the
// connection stays open for the next request.
//
// Threads: the constructor starts the server thread; every member may be called from any thread.
// Errors: the constructor throws std::system_error if it cannot create, bind or listen.
// Lifetime: the destructor (or stop()) closes every connection and joins the server thread.
class HttpServer {
  public:
    HttpServer();
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;
    HttpServer(HttpServer&&) = delete;
    HttpServer& operator=(HttpServer&&) = delete;

    std::uint16_t port() const { return port_; }
    // "http://127.0.0.1:PORT" followed by `path` (which should start with '/').
    std::string url(std::string_view path) const;
    // Responses sent so far (every status), connections accepted so far, connections open now.
    std::uint64_t requests() const { return requests_.load(); }
    std::uint64_t connections() const { return connections_.load(); }
    std::size_t open_connections() const { return open_.load(); }

    // Stops serving: closes the listener and every connection, joins the thread. Idempotent.
    void stop();

  private:
    void run();

    int listen_fd_ = -1;
    int wake_fd_ = -1;  // an eventfd: stop() writes to it to end run()
    std::uint16_t port_ = 0;
    std::atomic<std::uint64_t> requests_{0};
    std::atomic<std::uint64_t> connections_{0};
    std::atomic<std::size_t> open_{0};
    std::atomic<bool> stopped_{false};
    std::thread thread_;
};

}  // namespace kit
