// Your work for lesson 7.2: the seed's 30-line downloader, blocking libcurl transfers on a
// ThreadPool.
#include "lesson7/downloader.hpp"

#include <curl/curl.h>

#include <stdexcept>

namespace lesson7 {

// TODO(lesson7): one transfer with a libcurl easy handle:
//  - std::call_once(flag, [] { curl_global_init(CURL_GLOBAL_DEFAULT); }) before the first handle;
//  - curl_easy_init(), owned by a std::unique_ptr with curl_easy_cleanup as its deleter;
//  - CURLOPT_URL, CURLOPT_WRITEFUNCTION (a function that adds size * nmemb to a counter passed
//    through CURLOPT_WRITEDATA and returns size * nmemb), CURLOPT_TIMEOUT_MS, CURLOPT_NOSIGNAL 1,
//    CURLOPT_ERRORBUFFER for a readable message;
//  - curl_easy_perform; on an error, or CURLINFO_RESPONSE_CODE >= 400, throw std::runtime_error
//    with the URL in the message.
std::size_t fetch_size(const std::string& url, std::chrono::milliseconds timeout) {
    static_cast<void>(url);
    static_cast<void>(timeout);
    throw std::logic_error(
        "lesson7: fetch_size is not implemented yet (lessons/lesson7/src/downloader.cpp)");
}

// TODO(lesson7): the seed's program in C++: submit one fetch_size(url) per URL to the pool, then
// walk the futures with as_completed (AsCompleted::next_index() tells you which URL finished),
// fill that URL's Download (bytes, or the exception's message in error), call on_done (if set),
// and return the downloads in input order.
std::vector<Download> download_all(ThreadPool& pool, const std::vector<std::string>& urls,
                                   const std::function<void(const Download&)>& on_done) {
    static_cast<void>(pool);
    static_cast<void>(urls);
    static_cast<void>(on_done);
    throw std::logic_error(
        "lesson7: download_all is not implemented yet (lessons/lesson7/src/downloader.cpp)");
}

}  // namespace lesson7
