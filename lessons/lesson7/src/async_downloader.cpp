// Your work for lesson 7.3, task 4: libcurl's multi_socket API driven by libuv (CurlMulti), and
// coroutine fetches with at most N in flight on top of it.
#include "lesson7/async_downloader.hpp"

#include <curl/curl.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace lesson7::aio {

namespace {

[[noreturn]] void not_implemented(const char* what) {
    throw std::logic_error(std::string("lesson7: ") + what +
                           " is not implemented yet (lessons/lesson7/src/async_downloader.cpp)");
}

}  // namespace

// TODO(lesson7): the state of one CurlMulti. Suggested pieces (your design):
//  - the loop, the options, the CURLM* and one uv_timer_t (timer.data = this);
//  - per transfer: the CURL* easy handle, its Done, its FetchResult, a CURL_ERROR_SIZE buffer,
//    found again from the easy handle through CURLOPT_PRIVATE;
//  - per socket: the uv_poll_t watching it (heap-allocated: it must live until its close
//    callback), and whether curl asked to close the fd;
//  - how many handles are still open, so the Impl can free itself after the last close callback.
// The callbacks, all static functions that get `this` back through their user pointer:
//  - CURLMOPT_SOCKETFUNCTION: start (uv_poll_init_socket + uv_poll_start) or update the poll
//    handle with the events curl wants; CURL_POLL_REMOVE: uv_close it, free it in the close cb;
//  - CURLMOPT_TIMERFUNCTION: -1 stops the timer, any other value starts it with exactly that many
//    ms (0 included); never call curl_multi_socket_action from here;
//  - CURLOPT_OPENSOCKETFUNCTION / CLOSESOCKETFUNCTION: open the socket yourself; when curl closes
//    it, close the fd only once no poll handle for it is left (after the close callback);
//  - the poll callback: curl_multi_socket_action(multi, fd, CURL_CSELECT_IN / OUT, or
//    CURL_CSELECT_ERR when status < 0), then collect finished transfers (curl_multi_info_read):
//    remove and clean up the easy handle, fill the FetchResult, call Done last;
//  - the timer callback: curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, ...), then
//  collect.
struct CurlMulti::Impl {};

// TODO(lesson7): curl_global_init once per process (std::call_once), curl_multi_init,
// uv_timer_init, and the two CURLMOPT_* callbacks with their data pointers.
CurlMulti::CurlMulti(uv_loop_t& loop, FetchOptions options) {
    static_cast<void>(loop);
    const FetchOptions kept = std::move(options);
    static_cast<void>(kept);
    not_implemented("CurlMulti::CurlMulti");
}

// TODO(lesson7): remove and clean up every easy handle still running (no Done), then
// curl_multi_cleanup, then uv_close every poll handle and the timer; the memory goes in the close
// callbacks.
CurlMulti::~CurlMulti() {
    static_cast<void>(impl_);
}

// TODO(lesson7): a new easy handle for `url` (CURLOPT_URL, PRIVATE, WRITEFUNCTION/WRITEDATA,
// ERRORBUFFER, NOSIGNAL, TIMEOUT_MS, CONNECTTIMEOUT_MS, OPEN/CLOSESOCKETFUNCTION and their DATA,
// CAINFO_BLOB when options.ca_pem is set), then curl_multi_add_handle. Return a fresh id.
std::uint64_t CurlMulti::start(const std::string& url, Done done) {
    static_cast<void>(url);
    const Done kept = std::move(done);
    static_cast<void>(kept);
    not_implemented("CurlMulti::start");
}

// TODO(lesson7): if `id` is running: curl_multi_remove_handle, curl_easy_cleanup, forget it.
bool CurlMulti::cancel(std::uint64_t id) {
    static_cast<void>(id);
    not_implemented("CurlMulti::cancel");
}

// TODO(lesson7): the number of transfers started and not yet finished or cancelled.
std::size_t CurlMulti::in_flight() const {
    not_implemented("CurlMulti::in_flight");
}

// TODO(lesson7): the loop given to the constructor.
uv_loop_t& CurlMulti::loop() const {
    not_implemented("CurlMulti::loop");
}

// TODO(lesson7): check the limit (std::invalid_argument if 0), then make the CurlMulti on
// current_loop() and the Semaphore(limit).
Downloader::Downloader(FetchOptions options, std::size_t limit)
    : limit_(limit), multi_(current_loop(), std::move(options)), slots_(limit) {
    not_implemented("Downloader::Downloader");
}

// TODO(lesson7): the seed's `async with sem:` - take a permit first (co_await slots_.acquire()),
// then start the transfer with a Done that completes a Completion<FetchResult>, and
// co_await its wait(on_cancel), where on_cancel cancels the transfer.
Task<FetchResult> Downloader::fetch(std::string url) {
    static_cast<void>(url);
    not_implemented("Downloader::fetch");
    co_return FetchResult{};
}

// TODO(lesson7): one Downloader; one create_task(fetch(url)) per URL; then as_completed: call
// on_done and collect each result as it finishes. If anything throws (a cancellation), cancel the
// fetches and wait for them before you rethrow: they use the Downloader of this frame.
Task<std::vector<FetchResult>> download_all(std::vector<std::string> urls, FetchOptions options,
                                            std::size_t limit,
                                            std::function<void(const FetchResult&)> on_done) {
    static_cast<void>(urls);
    static_cast<void>(options);
    static_cast<void>(limit);
    static_cast<void>(on_done);
    not_implemented("download_all");
    co_return std::vector<FetchResult>{};
}

}  // namespace lesson7::aio
