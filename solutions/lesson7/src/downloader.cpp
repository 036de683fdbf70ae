// Reference solution for lesson 7.2's downloader: one blocking libcurl easy handle per task.
#include "lesson7/downloader.hpp"

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <stdexcept>

namespace lesson7 {

namespace {

std::size_t count_bytes(char* /*data*/, std::size_t size, std::size_t nmemb, void* user) {
    *static_cast<std::size_t*>(user) += size * nmemb;
    return size * nmemb;
}

}  // namespace

std::size_t fetch_size(const std::string& url, std::chrono::milliseconds timeout) {
    // curl_global_init touches process-wide state: once, before any handle, from whichever
    // thread gets here first.
    static std::once_flag curl_once;
    std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

    const std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(),
                                                                   &curl_easy_cleanup);
    if (!easy) {
        throw std::runtime_error("lesson7: curl_easy_init failed for " + url);
    }
    std::size_t bytes = 0;
    char message[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(easy.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, &count_bytes);
    curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &bytes);
    curl_easy_setopt(easy.get(), CURLOPT_ERRORBUFFER, message);
    curl_easy_setopt(easy.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    // Worker threads must not get signals from libcurl's resolver timeouts.
    curl_easy_setopt(easy.get(), CURLOPT_NOSIGNAL, 1L);
    const CURLcode rc = curl_easy_perform(easy.get());
    if (rc != CURLE_OK) {
        throw std::runtime_error("lesson7: fetching " + url + " failed: " +
                                 (message[0] != '\0' ? message : curl_easy_strerror(rc)));
    }
    long status = 0;
    curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &status);
    if (status >= 400) {
        throw std::runtime_error("lesson7: fetching " + url + " failed: HTTP status " +
                                 std::to_string(status));
    }
    return bytes;
}

std::vector<Download> download_all(ThreadPool& pool, const std::vector<std::string>& urls,
                                   const std::function<void(const Download&)>& on_done) {
    std::vector<Future<std::size_t>> futures;
    futures.reserve(urls.size());
    for (const auto& url : urls) {
        futures.push_back(pool.submit([url] { return fetch_size(url); }));
    }
    std::vector<Download> results(urls.size());
    AsCompleted<std::size_t> done(futures);
    while (done.remaining() > 0) {
        // The index, not just the future: the result lands in input order, reported in time order.
        const std::size_t i = done.next_index();
        Download& d = results[i];
        d.url = urls[i];
        try {
            d.bytes = futures[i].get();
        } catch (const std::exception& e) {
            d.error = e.what();
        }
        if (on_done) {
            on_done(d);
        }
    }
    return results;
}

}  // namespace lesson7
