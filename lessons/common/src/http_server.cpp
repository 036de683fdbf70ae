// The loopback HTTP/1.1 server fixture: one epoll loop serving /bytes, /status, /delay and
// /rendezvous.
#include "kit/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <system_error>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kit {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxBytes = std::size_t{256} << 20;
constexpr std::size_t kMaxHeader = std::size_t{64} * 1024;

[[noreturn]] void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(),
                            std::string("kit::HttpServer: ") + what);
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return out;
}

std::optional<std::size_t> parse_number(std::string_view text) {
    std::size_t value = 0;
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || ptr != end || text.empty()) {
        return std::nullopt;
    }
    return value;
}

const char* reason(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 500:
            return "Internal Server Error";
        default:
            return "Status";
    }
}

struct Connection {
    int fd = -1;
    std::uint64_t id = 0;  // unique per accepted connection (fd numbers are reused)
    std::string in;
    std::string out;
    std::size_t out_sent = 0;
    bool close_after_write = false;
    bool parked = false;  // a /delay or /rendezvous request waits: later requests wait behind it
    bool want_write = false;
};

struct Request {
    std::string method;
    std::string path;
    bool close = false;
};

// Parses one request head from the front of `in`; returns the bytes it used (0: need more data).
// Throws std::invalid_argument on a malformed head.
std::size_t parse_request(const std::string& in, Request& req) {
    const auto head_end = in.find("\r\n\r\n");
    if (head_end == std::string::npos) {
        if (in.size() > kMaxHeader) {
            throw std::invalid_argument("header too large");
        }
        return 0;
    }
    const std::string_view head(in.data(), head_end);
    const auto line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1) {
        throw std::invalid_argument("bad request line");
    }
    req.method = std::string(line.substr(0, sp1));
    req.path = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
    const std::string_view version = line.substr(sp2 + 1);
    req.close = version == "HTTP/1.0";
    std::size_t body = 0;
    std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
        auto next = head.find("\r\n", pos);
        if (next == std::string_view::npos) {
            next = head.size();
        }
        const std::string_view field = head.substr(pos, next - pos);
        pos = next + 2;
        const auto colon = field.find(':');
        if (colon == std::string_view::npos) {
            continue;
        }
        const std::string name = lower(field.substr(0, colon));
        std::string_view value = field.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') {
            value.remove_prefix(1);
        }
        if (name == "connection") {
            const std::string v = lower(value);
            req.close = v == "close" ? true : (v == "keep-alive" ? false : req.close);
        } else if (name == "content-length") {
            body = parse_number(value).value_or(0);
        }
    }
    const std::size_t total = head_end + 4 + body;
    return in.size() >= total ? total : 0;
}

void append_response(Connection& c, int status, std::size_t body_bytes,
                     std::string_view body_text) {
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) +
                       "\r\nContent-Length: " + std::to_string(body_bytes) +
                       "\r\nContent-Type: application/octet-stream\r\n";
    if (c.close_after_write) {
        head += "Connection: close\r\n";
    }
    head += "\r\n";
    c.out += head;
    if (!body_text.empty()) {
        c.out += body_text;
    } else {
        const std::size_t start = c.out.size();
        c.out.resize(start + body_bytes);
        for (std::size_t i = 0; i < body_bytes; ++i) {
            c.out[start + i] = static_cast<char>('a' + static_cast<int>(i % 26));
        }
    }
}

}  // namespace

HttpServer::HttpServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) {
        throw_errno("socket");
    }
    try {
        const int one = 1;
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-cstyle-cast): the sockets API wants sockaddr*
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            throw_errno("bind 127.0.0.1:0");
        }
        if (::listen(listen_fd_, 1024) != 0) {
            throw_errno("listen");
        }
        socklen_t len = sizeof addr;
        if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            throw_errno("getsockname");
        }
        port_ = ntohs(addr.sin_port);
        wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (wake_fd_ < 0) {
            throw_errno("eventfd");
        }
        thread_ = std::thread([this] { run(); });
    } catch (...) {
        ::close(listen_fd_);
        if (wake_fd_ >= 0) {
            ::close(wake_fd_);
        }
        throw;
    }
}

HttpServer::~HttpServer() {
    stop();
}

std::string HttpServer::url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

void HttpServer::stop() {
    if (stopped_.exchange(true)) {
        return;
    }
    const std::uint64_t one = 1;
    // The loop reads the eventfd and leaves; only then are the descriptors closed.
    if (::write(wake_fd_, &one, sizeof one) < 0) {
        // An eventfd write fails only on overflow, which a single write cannot cause.
    }
    if (thread_.joinable()) {
        thread_.join();
    }
    ::close(listen_fd_);
    ::close(wake_fd_);
}

void HttpServer::run() {
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        return;
    }
    std::unordered_map<int, std::unique_ptr<Connection>> conns;
    // Timers of /delay requests: (deadline, fd); rendezvous groups: K -> waiting fds.
    using Timer = std::tuple<Clock::time_point, int, std::uint64_t>;
    std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers;
    std::map<std::size_t, std::vector<int>> rendezvous;

    auto watch = [ep](int fd, std::uint32_t events, int op) {
        epoll_event ev{};
        ev.events = events;
        ev.data.fd = fd;
        ::epoll_ctl(ep, op, fd, &ev);
    };
    watch(listen_fd_, EPOLLIN, EPOLL_CTL_ADD);
    watch(wake_fd_, EPOLLIN, EPOLL_CTL_ADD);

    auto close_conn = [&](int fd) {
        ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        conns.erase(fd);
        open_.fetch_sub(1);
        for (auto& [k, fds] : rendezvous) {
            fds.erase(std::remove(fds.begin(), fds.end(), fd), fds.end());
        }
    };

    // Writes what it can; returns false if the connection was closed.
    auto flush = [&](Connection& c) -> bool {
        while (c.out_sent < c.out.size()) {
            const ssize_t n =
                ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    break;
                }
                close_conn(c.fd);
                return false;
            }
            c.out_sent += static_cast<std::size_t>(n);
        }
        if (c.out_sent == c.out.size()) {
            c.out.clear();
            c.out_sent = 0;
            if (c.close_after_write) {
                close_conn(c.fd);
                return false;
            }
        }
        const bool want = !c.out.empty();
        if (want != c.want_write) {
            c.want_write = want;
            watch(c.fd, EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0U), EPOLL_CTL_MOD);
        }
        return true;
    };

    auto respond = [&](Connection& c, int status, std::size_t bytes, std::string_view text) {
        append_response(c, status, bytes, text);
        requests_.fetch_add(1);
    };

    // Serves the complete requests at the front of c.in until one parks; returns false if closed.
    std::function<bool(Connection&)> serve = [&](Connection& c) -> bool {
        while (!c.parked && !c.close_after_write) {
            Request req;
            std::size_t used = 0;
            try {
                used = parse_request(c.in, req);
            } catch (const std::invalid_argument&) {
                c.close_after_write = true;
                respond(c, 400, 0, "");
                break;
            }
            if (used == 0) {
                break;
            }
            c.in.erase(0, used);
            c.close_after_write = req.close;
            if (req.method != "GET") {
                respond(c, 405, 0, "");
                continue;
            }
            auto tail = [&req](std::string_view prefix) -> std::optional<std::size_t> {
                if (req.path.rfind(prefix, 0) != 0) {
                    return std::nullopt;
                }
                return parse_number(std::string_view(req.path).substr(prefix.size()));
            };
            if (auto n = tail("/bytes/")) {
                if (*n > kMaxBytes) {
                    respond(c, 400, 0, "");
                } else {
                    respond(c, 200, *n, "");
                }
            } else if (auto code = tail("/status/")) {
                respond(c, (*code > 100 && *code < 600) ? static_cast<int>(*code) : 400, 0, "");
            } else if (auto ms = tail("/delay/")) {
                c.parked = true;
                timers.emplace(Clock::now() + std::chrono::milliseconds(*ms), c.fd, c.id);
            } else if (auto k = tail("/rendezvous/")) {
                auto& group = rendezvous[*k];
                group.push_back(c.fd);
                c.parked = true;
                if (group.size() >= *k) {
                    const std::vector<int> ready = std::move(group);
                    rendezvous.erase(*k);
                    for (int fd : ready) {
                        auto it = conns.find(fd);
                        if (it == conns.end()) {
                            continue;
                        }
                        Connection& other = *it->second;
                        other.parked = false;
                        respond(other, 200, 2, "ok");
                        if (&other != &c) {
                            // The other connections continue with their own pipelined requests.
                            if (flush(other)) {
                                serve(other);
                            }
                        }
                    }
                }
            } else {
                respond(c, 404, 0, "");
            }
        }
        return flush(c);
    };

    std::vector<epoll_event> events(256);
    char buf[64 * 1024];
    for (;;) {
        int timeout_ms = -1;
        if (!timers.empty()) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::get<0>(timers.top()) - Clock::now());
            timeout_ms = static_cast<int>(std::max<std::int64_t>(0, left.count() + 1));
        }
        const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout_ms);
        if (n < 0 && errno != EINTR) {
            break;
        }
        bool quit = false;
        for (int i = 0; i < n; ++i) {
            const int fd = events[static_cast<std::size_t>(i)].data.fd;
            const std::uint32_t ev = events[static_cast<std::size_t>(i)].events;
            if (fd == wake_fd_) {
                quit = true;
            } else if (fd == listen_fd_) {
                for (;;) {
                    const int cfd =
                        ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (cfd < 0) {
                        break;
                    }
                    const int one = 1;
                    ::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    auto conn = std::make_unique<Connection>();
                    conn->fd = cfd;
                    conn->id = connections_.load() + 1;
                    conns.emplace(cfd, std::move(conn));
                    connections_.fetch_add(1);
                    open_.fetch_add(1);
                    watch(cfd, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
                }
            } else {
                auto it = conns.find(fd);
                if (it == conns.end()) {
                    continue;
                }
                Connection& c = *it->second;
                if ((ev & EPOLLOUT) != 0U && !flush(c)) {
                    continue;
                }
                if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0U) {
                    bool closed = false;
                    for (;;) {
                        const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
                        if (got > 0) {
                            c.in.append(buf, static_cast<std::size_t>(got));
                            continue;
                        }
                        if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                            closed = true;
                        }
                        break;
                    }
                    if (!serve(c)) {
                        continue;
                    }
                    if (closed) {
                        close_conn(fd);
                    }
                }
            }
        }
        // Fire due /delay timers (a timer for a connection closed meanwhile is dropped).
        while (!timers.empty() && std::get<0>(timers.top()) <= Clock::now()) {
            const auto [when, fd, id] = timers.top();
            timers.pop();
            auto it = conns.find(fd);
            if (it != conns.end() && it->second->id == id && it->second->parked) {
                it->second->parked = false;
                respond(*it->second, 200, 2, "ok");
                if (flush(*it->second)) {
                    serve(*it->second);
                }
            }
        }
        if (quit) {
            break;
        }
    }
    for (auto& [fd, conn] : conns) {
        ::close(fd);
    }
    open_.store(0);
    ::close(ep);
}

}  // namespace kit
