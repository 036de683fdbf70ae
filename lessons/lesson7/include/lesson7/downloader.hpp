// Provided API of lesson 7.2's "30-line downloader": blocking libcurl transfers on a ThreadPool.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "lesson7/thread_pool.hpp"

namespace lesson7 {

// The outcome of one URL: the body size on success, or an error message (then bytes == 0).
struct Download {
    std::string url;
    std::size_t bytes = 0;
    std::string error;  // empty on success
    bool ok() const { return error.empty(); }
};

// Fetches `url` with one libcurl easy handle, blocking the calling thread, and returns the number
// of body bytes received (the body itself is counted and dropped). Follows no redirects, gives up
// after `timeout`. Initialises libcurl once per process (curl_global_init is not thread-safe:
// guard it with std::call_once). Any thread may call it; each call uses its own easy handle.
// Throws std::runtime_error naming the URL on a transfer error (curl's message) or an HTTP
// status >= 400.
std::size_t fetch_size(const std::string& url,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The seed's downloader: submits fetch_size(url) for every URL to `pool`, then, in the calling
// thread and in completion order (as_completed), calls on_done(download) once per URL as each
// finishes. A failed URL is reported (Download::error), never thrown. Returns the downloads in
// input order. on_done may be empty.
std::vector<Download> download_all(ThreadPool& pool, const std::vector<std::string>& urls,
                                   const std::function<void(const Download&)>& on_done);

}  // namespace lesson7
