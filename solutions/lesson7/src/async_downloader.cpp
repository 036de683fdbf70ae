// Reference solution for lesson 7.3, task 4: libcurl multi_socket on libuv, and coroutine fetches
// with a Semaphore on top.
#include "lesson7/async_downloader.hpp"

#include <curl/curl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

namespace lesson7::aio {

namespace {

using Clock = std::chrono::steady_clock;

void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

struct CurlMulti::Impl {
    // One transfer in flight. Owned by `transfers`; curl knows it through CURLOPT_PRIVATE.
    struct Transfer {
        Impl* impl = nullptr;
        std::uint64_t id = 0;
        CURL* easy = nullptr;
        Done done;
        FetchResult result;
        std::string body;
        Clock::time_point started;
        char error[CURL_ERROR_SIZE] = {};
    };
    // One uv_poll_t; heap-allocated because it must outlive its uv_close() until the callback.
    struct Poll {
        uv_poll_t handle{};
        Impl* impl = nullptr;
        curl_socket_t fd = CURL_SOCKET_BAD;
    };
    // What we know about one socket number.
    struct Socket {
        Poll* poll = nullptr;       // the poll handle watching it now, if any
        int closing = 0;            // poll handles of this socket whose close callback is due
        bool close_wanted = false;  // curl closed it: close the fd once `closing` is 0
        bool owned = false;         // opened by on_open_socket (else curl's own, e.g. a wake-up)
    };

    uv_loop_t* loop = nullptr;
    FetchOptions options;
    CURLM* multi = nullptr;
    uv_timer_t timer{};
    std::unordered_map<std::uint64_t, std::unique_ptr<Transfer>> transfers;
    std::unordered_map<curl_socket_t, Socket> sockets;
    std::uint64_t next_id = 1;
    std::size_t open_handles = 0;  // the timer and every poll handle not yet closed
    bool dying = false;            // the CurlMulti is gone: free this after the last close

    // --- curl's callbacks: they only record what curl wants; they never call back into curl ---

    static int on_socket(CURL* /*easy*/, curl_socket_t fd, int what, void* userp,
                         void* /*socketp*/) {
        auto* self = static_cast<Impl*>(userp);
        Socket& s = self->sockets[fd];
        if (what == CURL_POLL_REMOVE) {
            self->close_poll(s);
            self->release_socket(fd);
            return 0;
        }
        if (s.poll == nullptr) {
            auto* p = new Poll;
            p->impl = self;
            p->fd = fd;
            if (uv_poll_init_socket(self->loop, &p->handle, fd) != 0) {
                delete p;  // never initialised, so never closed: free it at once
                return -1;
            }
            p->handle.data = p;
            ++self->open_handles;
            s.poll = p;
        }
        int events = 0;
        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) {
            events |= UV_READABLE;
        }
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) {
            events |= UV_WRITABLE;
        }
        return uv_poll_start(&s.poll->handle, events, &Impl::on_poll) == 0 ? 0 : -1;
    }

    static int on_timer_request(CURLM* /*multi*/, long timeout_ms, void* userp) {
        auto* self = static_cast<Impl*>(userp);
        if (timeout_ms < 0) {
            uv_timer_stop(&self->timer);
        } else {
            // 0 ms: the next loop iteration. Calling curl_multi_socket_action here instead would
            // re-enter curl from its own callback.
            uv_timer_start(&self->timer, &Impl::on_timeout, static_cast<std::uint64_t>(timeout_ms),
                           0);
        }
        return 0;
    }

    static curl_socket_t on_open_socket(void* clientp, curlsocktype /*purpose*/,
                                        curl_sockaddr* address) {
        auto* self = static_cast<Impl*>(clientp);
        const int fd =
            ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
        if (fd < 0) {
            return CURL_SOCKET_BAD;
        }
        Socket s;
        s.owned = true;
        self->sockets[fd] = s;
        return fd;
    }

    static int on_close_socket(void* clientp, curl_socket_t fd) {
        auto* self = static_cast<Impl*>(clientp);
        auto it = self->sockets.find(fd);
        if (it == self->sockets.end()) {
            return ::close(fd);
        }
        // The fd stays open until no poll handle refers to it; only then may the number be reused.
        it->second.close_wanted = true;
        self->close_poll(it->second);
        self->release_socket(fd);
        return 0;
    }

    static std::size_t on_write(char* data, std::size_t size, std::size_t nmemb, void* userp) {
        auto* t = static_cast<Transfer*>(userp);
        const std::size_t n = size * nmemb;
        t->result.size += n;
        if (t->impl->options.keep_body) {
            t->body.append(data, n);
        }
        return n;
    }

    // --- libuv's callbacks: here it is safe to drive curl ---

    static void on_poll(uv_poll_t* handle, int status, int events) {
        auto* p = static_cast<Poll*>(handle->data);
        int flags = 0;
        if (status < 0) {
            flags = CURL_CSELECT_ERR;  // e.g. a reset: curl must see it and fail the transfer
        } else {
            flags |= (events & UV_READABLE) != 0 ? CURL_CSELECT_IN : 0;
            flags |= (events & UV_WRITABLE) != 0 ? CURL_CSELECT_OUT : 0;
        }
        p->impl->act(p->fd, flags);
    }

    static void on_timeout(uv_timer_t* handle) {
        static_cast<Impl*>(handle->data)->act(CURL_SOCKET_TIMEOUT, 0);
    }

    static void on_poll_closed(uv_handle_t* handle) {
        auto* p = static_cast<Poll*>(handle->data);
        Impl* self = p->impl;
        auto it = self->sockets.find(p->fd);
        if (it != self->sockets.end()) {
            --it->second.closing;
            self->release_socket(p->fd);
        }
        delete p;  // only now: libuv no longer touches the handle
        self->handle_closed();
    }

    static void on_timer_closed(uv_handle_t* handle) {
        static_cast<Impl*>(handle->data)->handle_closed();
    }

    // --- the rest ---

    void close_poll(Socket& s) {
        if (s.poll != nullptr) {
            uv_close(reinterpret_cast<uv_handle_t*>(&s.poll->handle), &Impl::on_poll_closed);
            s.poll = nullptr;
            ++s.closing;
        }
    }

    // Forgets the socket once no poll handle is left and curl is done with it (closing our own
    // fd only then); a socket curl made itself is curl's to close.
    void release_socket(curl_socket_t fd) {
        auto it = sockets.find(fd);
        if (it == sockets.end() || it->second.closing != 0 || it->second.poll != nullptr) {
            return;
        }
        const bool owned = it->second.owned;
        if (owned && !it->second.close_wanted) {
            return;  // an idle connection in curl's cache: curl may watch it again later
        }
        sockets.erase(it);
        if (owned) {
            ::close(fd);
        }
    }

    void handle_closed() {
        --open_handles;
        if (dying && open_handles == 0) {
            delete this;
        }
    }

    void act(curl_socket_t fd, int flags) {
        int running = 0;
        curl_multi_socket_action(multi, fd, flags, &running);
        collect_done();
    }

    void collect_done() {
        int left = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
            if (msg->msg != CURLMSG_DONE) {
                continue;
            }
            Transfer* t = nullptr;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
            const CURLcode code = msg->data.result;
            finish(*t, code);
        }
    }

    void finish(Transfer& t, CURLcode code) {
        FetchResult& r = t.result;
        curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &r.status);
        if (code != CURLE_OK) {
            r.error = t.error[0] != '\0' ? t.error : curl_easy_strerror(code);
            r.timed_out = code == CURLE_OPERATION_TIMEDOUT;
            r.status = 0;  // no complete response
        } else if (options.keep_body) {
            r.body = std::move(t.body);
        }
        r.seconds = std::chrono::duration<double>(Clock::now() - t.started).count();
        Done done = std::move(t.done);
        FetchResult out = std::move(r);
        remove(t.id);
        done(std::move(out));  // last: it may start or cancel other transfers
    }

    void remove(std::uint64_t id) {
        auto it = transfers.find(id);
        if (it == transfers.end()) {
            return;
        }
        curl_multi_remove_handle(multi, it->second->easy);
        curl_easy_cleanup(it->second->easy);
        transfers.erase(it);
    }
};

CurlMulti::CurlMulti(uv_loop_t& loop, FetchOptions options) {
    init_curl_once();
    auto impl = std::make_unique<Impl>();
    impl->loop = &loop;
    impl->options = std::move(options);
    impl->multi = curl_multi_init();
    if (impl->multi == nullptr) {
        throw std::runtime_error(
            "lesson7::aio::CurlMulti: curl_multi_init failed (out of memory?)");
    }
    const int rc = uv_timer_init(&loop, &impl->timer);
    if (rc != 0) {
        curl_multi_cleanup(impl->multi);
        throw std::runtime_error(std::string("lesson7::aio::CurlMulti: uv_timer_init failed: ") +
                                 uv_strerror(rc));
    }
    impl->timer.data = impl.get();
    impl->open_handles = 1;
    curl_multi_setopt(impl->multi, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
    curl_multi_setopt(impl->multi, CURLMOPT_SOCKETDATA, impl.get());
    curl_multi_setopt(impl->multi, CURLMOPT_TIMERFUNCTION, &Impl::on_timer_request);
    curl_multi_setopt(impl->multi, CURLMOPT_TIMERDATA, impl.get());
    impl_ = impl.release();
}

CurlMulti::~CurlMulti() {
    Impl* impl = impl_;
    while (!impl->transfers.empty()) {
        impl->remove(impl->transfers.begin()->first);
    }
    // Closes the cached connections (through on_close_socket, which defers each fd's close).
    curl_multi_cleanup(impl->multi);
    impl->multi = nullptr;
    for (auto& [fd, s] : impl->sockets) {
        s.close_wanted = true;
        impl->close_poll(s);
    }
    // Sockets with no poll handle left can be closed now; the others close in on_poll_closed.
    for (auto it = impl->sockets.begin(); it != impl->sockets.end();) {
        if (it->second.closing == 0) {
            if (it->second.owned) {
                ::close(it->first);
            }
            it = impl->sockets.erase(it);
        } else {
            ++it;
        }
    }
    impl->dying = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&impl->timer), &Impl::on_timer_closed);
}

std::uint64_t CurlMulti::start(const std::string& url, Done done) {
    auto t = std::make_unique<Impl::Transfer>();
    t->impl = impl_;
    t->id = impl_->next_id++;
    t->done = std::move(done);
    t->result.url = url;
    t->started = Clock::now();
    t->easy = curl_easy_init();
    if (t->easy == nullptr) {
        throw std::runtime_error("lesson7::aio::CurlMulti::start: curl_easy_init failed for " +
                                 url);
    }
    CURL* e = t->easy;
    const FetchOptions& o = impl_->options;
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout.count()));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Impl::on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, impl_);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &Impl::on_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, impl_);
    if (!o.ca_pem.empty()) {
        curl_blob blob{const_cast<char*>(o.ca_pem.data()), o.ca_pem.size(), CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    }
    const CURLMcode rc = curl_multi_add_handle(impl_->multi, e);
    if (rc != CURLM_OK) {
        curl_easy_cleanup(e);
        throw std::runtime_error(
            "lesson7::aio::CurlMulti::start: curl_multi_add_handle failed for " + url + ": " +
            curl_multi_strerror(rc));
    }
    const std::uint64_t id = t->id;
    impl_->transfers.emplace(id, std::move(t));
    return id;
}

bool CurlMulti::cancel(std::uint64_t id) {
    if (impl_->transfers.count(id) == 0) {
        return false;
    }
    impl_->remove(id);
    return true;
}

std::size_t CurlMulti::in_flight() const {
    return impl_->transfers.size();
}

uv_loop_t& CurlMulti::loop() const {
    return *impl_->loop;
}

namespace {

std::size_t checked_limit(std::size_t limit) {
    if (limit == 0) {
        throw std::invalid_argument(
            "lesson7::aio::Downloader: limit must be at least 1 (the seed uses 10)");
    }
    return limit;
}

}  // namespace

Downloader::Downloader(FetchOptions options, std::size_t limit)
    : limit_(checked_limit(limit)), multi_(current_loop(), std::move(options)), slots_(limit) {}

Task<FetchResult> Downloader::fetch(std::string url) {
    // The permit first: a queued fetch holds no easy handle and no buffer.
    const Semaphore::Permit permit = co_await slots_.acquire();
    Completion<FetchResult> done;
    const std::uint64_t id =
        multi_.start(url, [&done](FetchResult r) { done.set_value(std::move(r)); });
    // Cancelled while the transfer runs: stop it now, so Done (which refers to `done`, about to
    // go away with this frame) is never called.
    co_return co_await done.wait([this, id] { multi_.cancel(id); });
}

Task<std::vector<FetchResult>> download_all(std::vector<std::string> urls, FetchOptions options,
                                            std::size_t limit,
                                            std::function<void(const FetchResult&)> on_done) {
    Downloader downloader(std::move(options), limit);
    std::vector<TaskHandle<FetchResult>> tasks;
    tasks.reserve(urls.size());
    for (auto& url : urls) {
        tasks.push_back(create_task(downloader.fetch(std::move(url))));
    }
    auto order = as_completed(std::move(tasks));
    std::vector<FetchResult> results;
    results.reserve(order.remaining());
    std::exception_ptr failure;
    try {
        while (order.remaining() > 0) {
            FetchResult r = co_await order.next();
            if (on_done) {
                on_done(r);
            }
            results.push_back(std::move(r));
        }
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        // The fetches use `downloader`, which dies with this frame: end them all first.
        for (auto& t : order.tasks()) {
            t.cancel();
        }
        for (auto& t : order.tasks()) {
            if (t.done()) {
                t.discard();  // its result was taken, or nobody wants it now
                continue;
            }
            try {
                co_await std::move(t);
            } catch (...) {
                // That it ended is all we wait for; the first failure is rethrown below.
            }
        }
        std::rethrow_exception(failure);
    }
    co_return results;
}

}  // namespace lesson7::aio
