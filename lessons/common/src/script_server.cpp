// The scripted loopback server: one epoll loop, plain or TLS (OpenSSL, non-blocking), with routes
// and modifiers that delay, drip, reset and hold responses on purpose.
#include "kit/script_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <stdexcept>
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
                            std::string("kit::ScriptServer: ") + what);
}

std::optional<std::size_t> parse_number(std::string_view text) {
    std::size_t value = 0;
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc{} || ptr != end) {
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
        case 503:
            return "Service Unavailable";
        default:
            return "Status";
    }
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto low = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
               return low(x) == low(y);
           });
}

// What one request asks for, after its route and modifiers are parsed.
struct Plan {
    int status = 200;
    std::size_t body = 0;
    std::optional<std::size_t> rendezvous;  // hold until K of these are held
    bool hang = false;
    std::chrono::milliseconds delay{0};
    std::size_t chunk = 0;  // 0: the whole body at once
    std::chrono::milliseconds every{0};
    std::optional<std::size_t> reset;  // reset after this many body bytes
    bool close = false;
};

// Parses one request head from the front of `in` into `plan`; returns the bytes used (0:
// incomplete). A malformed head becomes a 400 that closes the connection.
std::size_t parse_request(const std::string& in, Plan& plan) {
    const auto head_end = in.find("\r\n\r\n");
    if (head_end == std::string::npos) {
        if (in.size() > kMaxHeader) {
            plan = Plan{};
            plan.status = 400;
            plan.close = true;
            return in.size();
        }
        return 0;
    }
    const std::string_view head(in.data(), head_end);
    const auto line_end = std::min(head.find("\r\n"), head.size());
    const std::string_view line = head.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.rfind(' ');
    plan = Plan{};
    if (sp1 == std::string_view::npos || sp2 == sp1) {
        plan.status = 400;
        plan.close = true;
        return head_end + 4;
    }
    plan.close = line.substr(sp2 + 1) == "HTTP/1.0";
    for (std::size_t pos = line_end + 2; pos < head.size();) {
        const auto next = std::min(head.find("\r\n", pos), head.size());
        const std::string_view field = head.substr(pos, next - pos);
        pos = next + 2;
        const auto colon = field.find(':');
        if (colon != std::string_view::npos && iequals(field.substr(0, colon), "connection")) {
            std::string_view value = field.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') {
                value.remove_prefix(1);
            }
            plan.close = iequals(value, "close") ? true : plan.close;
        }
    }
    if (line.substr(0, sp1) != "GET") {
        plan.status = 405;
        return head_end + 4;
    }
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view query;
    if (const auto q = target.find('?'); q != std::string_view::npos) {
        query = target.substr(q + 1);
        target = target.substr(0, q);
    }
    // The path as segments: /a/b/c -> {a, b, c}.
    std::vector<std::string_view> seg;
    while (!target.empty()) {
        target.remove_prefix(target.front() == '/' ? 1 : 0);
        const auto slash = std::min(target.find('/'), target.size());
        seg.push_back(target.substr(0, slash));
        target.remove_prefix(slash);
    }
    auto number = [&seg](std::size_t i) {
        return i < seg.size() ? parse_number(seg[i]) : std::nullopt;
    };
    bool bad = false;
    if (seg.size() == 2 && seg[0] == "bytes" && number(1)) {
        plan.body = *number(1);
        bad = plan.body > kMaxBytes;
    } else if (seg.size() == 3 && seg[0] == "random" && number(1) && number(2)) {
        plan.body = ScriptServer::random_size(*number(1), *number(2));
        bad = *number(2) > kMaxBytes;
    } else if (seg.size() == 2 && seg[0] == "status" && number(1)) {
        const std::size_t code = *number(1);
        bad = code <= 100 || code >= 600;
        plan.status = bad ? 400 : static_cast<int>(code);
    } else if (seg.size() == 2 && seg[0] == "rendezvous" && number(1) && *number(1) > 0) {
        plan.rendezvous = number(1);
        plan.body = 2;
    } else if (seg.size() == 1 && seg[0] == "hang") {
        plan.hang = true;
    } else {
        plan.status = 404;
        return head_end + 4;
    }
    while (!query.empty()) {
        const auto amp = std::min(query.find('&'), query.size());
        const std::string_view kv = query.substr(0, amp);
        query.remove_prefix(std::min(amp + 1, query.size()));
        const auto eq = kv.find('=');
        const auto value =
            eq == std::string_view::npos ? std::nullopt : parse_number(kv.substr(eq + 1));
        const std::string_view key = kv.substr(0, eq);
        if (!value) {
            bad = true;
            continue;
        }
        if (key == "delay") {
            plan.delay = std::chrono::milliseconds(*value);
        } else if (key == "chunk") {
            plan.chunk = *value;
        } else if (key == "every") {
            plan.every = std::chrono::milliseconds(*value);
        } else if (key == "reset") {
            plan.reset = value;
        } else if (key == "size") {
            plan.body = std::min(*value, kMaxBytes);
        } else {
            bad = true;
        }
    }
    if (bad) {
        plan = Plan{};
        plan.status = 400;
    }
    return head_end + 4;
}

struct Connection {
    int fd = -1;
    std::uint64_t id = 0;  // unique per accepted connection (fd numbers are reused)
    SSL* ssl = nullptr;
    bool handshaken = false;
    bool handshake_wants_write = false;
    bool want_write = false;  // EPOLLOUT is in the interest set
    std::string in;
    std::string out;
    std::size_t out_sent = 0;
    std::size_t served = 0;
    // The request in service (busy), if any.
    bool busy = false;
    bool parked = false;   // a /rendezvous or /hang request is held
    bool waiting = false;  // a timer (delay or drip) is pending
    bool joined = false;   // a /rendezvous request has joined its group
    bool head_out = false;
    std::size_t produced = 0;  // body bytes appended to `out` so far
    Plan plan;
};

void append_body(std::string& out, std::size_t offset, std::size_t n) {
    const std::size_t start = out.size();
    out.resize(start + n);
    for (std::size_t i = 0; i < n; ++i) {
        out[start + i] = static_cast<char>('a' + static_cast<int>((offset + i) % 26));
    }
}

}  // namespace

struct ScriptServer::Tls {
    SSL_CTX* ctx = nullptr;
    ~Tls() { SSL_CTX_free(ctx); }
    Tls() = default;
    Tls(const Tls&) = delete;
    Tls& operator=(const Tls&) = delete;
    Tls(Tls&&) = delete;
    Tls& operator=(Tls&&) = delete;
};

std::size_t ScriptServer::random_size(std::uint64_t seed, std::size_t max) {
    // splitmix64: a fixed, well-mixed function of the seed, so tests can predict the size.
    std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    z ^= z >> 31U;
    return static_cast<std::size_t>(z % (static_cast<std::uint64_t>(max) + 1));
}

ScriptServer::ScriptServer() : ScriptServer(Options{}) {}

ScriptServer::ScriptServer(Options options) : options_(options) {
    if (options_.transport != Transport::plain) {
        ca_ = std::make_unique<TestCa>();
        tls_ = std::make_unique<Tls>();
        tls_->ctx = SSL_CTX_new(TLS_server_method());
        auto fail = [](const char* call) {
            throw std::runtime_error(std::string("kit::ScriptServer: OpenSSL call ") + call +
                                     " failed while setting up the TLS server");
        };
        if (tls_->ctx == nullptr) {
            fail("SSL_CTX_new");
        }
        BIO* cert_bio =
            BIO_new_mem_buf(ca_->cert_pem().data(), static_cast<int>(ca_->cert_pem().size()));
        X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
        BIO_free(cert_bio);
        BIO* key_bio =
            BIO_new_mem_buf(ca_->key_pem().data(), static_cast<int>(ca_->key_pem().size()));
        EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
        BIO_free(key_bio);
        const bool loaded = cert != nullptr && key != nullptr &&
                            SSL_CTX_use_certificate(tls_->ctx, cert) == 1 &&
                            SSL_CTX_use_PrivateKey(tls_->ctx, key) == 1;
        X509_free(cert);
        EVP_PKEY_free(key);
        if (!loaded) {
            fail("SSL_CTX_use_certificate/SSL_CTX_use_PrivateKey");
        }
        // No TLS 1.3 session tickets: they arrive after the handshake, and a client that finds
        // unread bytes on an idle connection may drop it instead of reusing it.
        SSL_CTX_set_num_tickets(tls_->ctx, 0);
        SSL_CTX_set_mode(tls_->ctx,
                         SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    }
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

ScriptServer::~ScriptServer() {
    stop();
}

std::string ScriptServer::url(std::string_view path) const {
    const char* scheme = options_.transport == Transport::plain ? "http" : "https";
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

const std::string& ScriptServer::ca_pem() const {
    static const std::string none;
    return ca_ ? ca_->ca_pem() : none;
}

void ScriptServer::stop() {
    if (stopped_.exchange(true)) {
        return;
    }
    const std::uint64_t one = 1;
    if (::write(wake_fd_, &one, sizeof one) < 0) {
        // An eventfd write fails only on overflow, which a single write cannot cause.
    }
    if (thread_.joinable()) {
        thread_.join();
    }
    ::close(listen_fd_);
    ::close(wake_fd_);
}

void ScriptServer::run() {
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        return;
    }
    std::unordered_map<int, std::unique_ptr<Connection>> conns;
    using Timer = std::tuple<Clock::time_point, int, std::uint64_t>;  // (due, fd, connection id)
    std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers;
    std::map<std::size_t, std::vector<int>> rendezvous;  // K -> fds of the held requests

    auto watch = [ep](int fd, std::uint32_t events, int op) {
        epoll_event ev{};
        ev.events = events;
        ev.data.fd = fd;
        ::epoll_ctl(ep, op, fd, &ev);
    };
    watch(listen_fd_, EPOLLIN, EPOLL_CTL_ADD);
    watch(wake_fd_, EPOLLIN, EPOLL_CTL_ADD);

    auto close_conn = [&](int fd, bool reset) {
        auto it = conns.find(fd);
        if (it == conns.end()) {
            return;
        }
        Connection& c = *it->second;
        ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        if (reset) {
            // SO_LINGER with a zero timeout: close() sends RST instead of FIN.
            const linger lin{1, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof lin);
            resets_.fetch_add(1);
        }
        if (c.busy) {
            active_.fetch_sub(1);
        }
        SSL_free(c.ssl);
        ::close(fd);
        for (auto& [k, fds] : rendezvous) {
            fds.erase(std::remove(fds.begin(), fds.end(), fd), fds.end());
        }
        conns.erase(it);
    };

    // Reads everything available (running the TLS handshake first); false if the peer closed.
    std::array<char, std::size_t{64} * 1024> buf{};
    auto read_in = [&](Connection& c) -> bool {
        if (c.ssl == nullptr) {
            for (;;) {
                const ssize_t got = ::recv(c.fd, buf.data(), buf.size(), 0);
                if (got > 0) {
                    c.in.append(buf.data(), static_cast<std::size_t>(got));
                    continue;
                }
                return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
            }
        }
        if (!c.handshaken) {
            ERR_clear_error();
            const int r = SSL_accept(c.ssl);
            if (r != 1) {
                const int err = SSL_get_error(c.ssl, r);
                c.handshake_wants_write = err == SSL_ERROR_WANT_WRITE;
                if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
                    return true;
                }
                handshake_failures_.fetch_add(1);
                return false;
            }
            c.handshaken = true;
            c.handshake_wants_write = false;
        }
        for (;;) {
            ERR_clear_error();
            const int got = SSL_read(c.ssl, buf.data(), static_cast<int>(buf.size()));
            if (got > 0) {
                c.in.append(buf.data(), static_cast<std::size_t>(got));
                continue;
            }
            const int err = SSL_get_error(c.ssl, got);
            return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
        }
    };

    // Writes what the kernel takes; false on a write error.
    auto write_out = [&](Connection& c) -> bool {
        while (c.out_sent < c.out.size()) {
            const std::size_t left = c.out.size() - c.out_sent;
            if (c.ssl == nullptr) {
                const ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, left, MSG_NOSIGNAL);
                if (n < 0) {
                    return errno == EAGAIN || errno == EWOULDBLOCK;
                }
                c.out_sent += static_cast<std::size_t>(n);
            } else {
                if (!c.handshaken) {
                    return true;
                }
                ERR_clear_error();
                const int n = SSL_write(c.ssl, c.out.data() + c.out_sent,
                                        static_cast<int>(std::min<std::size_t>(left, 1U << 20U)));
                if (n <= 0) {
                    const int err = SSL_get_error(c.ssl, n);
                    return err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ;
                }
                c.out_sent += static_cast<std::size_t>(n);
            }
        }
        c.out.clear();
        c.out_sent = 0;
        return true;
    };

    // Appends to `out` what the plan allows now; arms a timer for the rest of a drip.
    auto pump = [&](Connection& c) {
        if (!c.busy || c.parked || c.waiting) {
            return;
        }
        const Plan& p = c.plan;
        if (!c.head_out) {
            c.head_out = true;
            requests_.fetch_add(1);
            std::string head = "HTTP/1.1 " + std::to_string(p.status) + " " + reason(p.status) +
                               "\r\nContent-Length: " + std::to_string(p.body) +
                               "\r\nContent-Type: application/octet-stream\r\n";
            if (p.close) {
                head += "Connection: close\r\n";
            }
            c.out += head + "\r\n";
        }
        const std::size_t limit = p.reset ? std::min(*p.reset, p.body) : p.body;
        while (c.produced < limit) {
            const std::size_t n =
                p.chunk == 0 ? limit - c.produced : std::min(p.chunk, limit - c.produced);
            if (p.rendezvous) {
                c.out += "ok";
            } else {
                append_body(c.out, c.produced, n);
            }
            c.produced += n;
            if (p.chunk != 0 && p.every.count() > 0 && c.produced < limit) {
                c.waiting = true;
                timers.emplace(Clock::now() + p.every, c.fd, c.id);
                return;
            }
        }
    };

    // Starts the next request parsed from `in`, if there is one.
    auto start_next = [&](Connection& c) -> bool {
        Plan plan;
        const std::size_t used = parse_request(c.in, plan);
        if (used == 0) {
            return false;
        }
        c.in.erase(0, used);
        ++c.served;
        if (options_.close_after != 0 && c.served >= options_.close_after) {
            plan.close = true;
        }
        c.plan = plan;
        c.busy = true;
        c.head_out = false;
        c.produced = 0;
        c.joined = false;
        const std::size_t now_active = active_.fetch_add(1) + 1;
        if (now_active > max_active_.load()) {
            max_active_.store(now_active);  // only this thread writes it
        }
        if (plan.hang) {
            c.parked = true;
        } else if (plan.delay.count() > 0) {
            c.waiting = true;
            timers.emplace(Clock::now() + plan.delay, c.fd, c.id);
        }
        return true;
    };

    // Drives one connection as far as it can go now; false if it was closed.
    std::function<bool(int)> drive;
    auto release_rendezvous = [&](Connection& c) {
        if (!c.busy || !c.plan.rendezvous || c.joined || c.waiting) {
            return;
        }
        const std::size_t k = *c.plan.rendezvous;
        auto& group = rendezvous[k];
        group.push_back(c.fd);
        c.joined = true;
        c.parked = true;
        if (group.size() < k) {
            return;
        }
        const std::vector<int> ready = std::move(group);
        rendezvous.erase(k);
        for (const int fd : ready) {
            if (auto it = conns.find(fd); it != conns.end()) {
                it->second->parked = false;
                if (fd != c.fd) {
                    drive(fd);
                }
            }
        }
    };
    drive = [&](int fd) -> bool {
        for (;;) {
            auto it = conns.find(fd);
            if (it == conns.end()) {
                return false;
            }
            Connection& c = *it->second;
            if (!c.busy && !start_next(c)) {
                break;
            }
            release_rendezvous(c);
            pump(c);
            if (!write_out(c)) {
                close_conn(fd, false);
                return false;
            }
            if (!c.out.empty() || c.parked || c.waiting) {
                break;
            }
            const std::size_t limit =
                c.plan.reset ? std::min(*c.plan.reset, c.plan.body) : c.plan.body;
            if (c.plan.reset && limit < c.plan.body) {
                close_conn(fd, true);
                return false;
            }
            if (c.produced >= limit) {
                c.busy = false;
                active_.fetch_sub(1);
                if (c.plan.close) {
                    close_conn(fd, false);
                    return false;
                }
            }
        }
        Connection& c = *conns.at(fd);
        const bool want = !c.out.empty() || c.handshake_wants_write;
        if (want != c.want_write) {
            c.want_write = want;
            watch(fd, EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0U), EPOLL_CTL_MOD);
        }
        return true;
    };

    std::vector<epoll_event> events(256);
    for (bool quit = false; !quit;) {
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
                    conn->id = connections_.fetch_add(1) + 1;
                    if (options_.transport == Transport::tls) {
                        conn->ssl = SSL_new(tls_->ctx);
                        SSL_set_fd(conn->ssl, cfd);
                    }
                    conns.emplace(cfd, std::move(conn));
                    watch(cfd, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
                }
            } else if (auto it = conns.find(fd); it != conns.end()) {
                Connection& c = *it->second;
                if (options_.transport == Transport::tls_handshake_failure) {
                    // Read the ClientHello, then reset: the client's handshake fails.
                    while (::recv(fd, buf.data(), buf.size(), 0) > 0) {
                    }
                    handshake_failures_.fetch_add(1);
                    close_conn(fd, true);
                    continue;
                }
                if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0U && !read_in(c)) {
                    close_conn(fd, false);
                    continue;
                }
                drive(fd);
            }
        }
        // Fire the due timers (a timer of a connection closed meanwhile is dropped).
        while (!timers.empty() && std::get<0>(timers.top()) <= Clock::now()) {
            const auto [when, fd, id] = timers.top();
            timers.pop();
            auto it = conns.find(fd);
            if (it != conns.end() && it->second->id == id && it->second->waiting) {
                it->second->waiting = false;
                drive(fd);
            }
        }
    }
    for (auto& [fd, conn] : conns) {
        SSL_free(conn->ssl);
        ::close(fd);
    }
    active_.store(0);
    ::close(ep);
}

}  // namespace kit
