// Bug zoo (lesson 7.1, unsync_accumulate): all threads add to one total without synchronisation.
#include "lesson7/sum_squares.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace lesson7 {

u128 sum_of_squares(std::uint64_t n) {
    u128 sum = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        // opaque() keeps this a real loop under every compiler (see the header). Widening before
        // the multiplication matters too: i*i in 64 bits overflows once i reaches 2^32.
        const std::uint64_t k = opaque(i);
        sum += static_cast<u128>(k) * k;
    }
    return sum;
}

void parallel_for(std::size_t count, unsigned threads, const ChunkBody& body) {
    if (threads == 0) {
        throw std::invalid_argument(
            "lesson7::parallel_for: threads is 0, so no thread could run the work; pass at least 1 "
            "(for example std::thread::hardware_concurrency())");
    }
    const std::size_t chunks = std::min<std::size_t>(count, threads);
    if (chunks == 0) {
        return;
    }
    // One slot per chunk: each thread writes only its own slot, and join() makes that write
    // visible to this thread, so the slots need no lock.
    std::vector<std::exception_ptr> errors(chunks);
    {
        // std::jthread joins in its destructor, so leaving this scope joins every started thread,
        // also when starting a later one throws std::system_error.
        std::vector<std::jthread> workers;
        workers.reserve(chunks);
        const std::size_t base = count / chunks;
        const std::size_t extra = count % chunks;  // the first `extra` chunks take one more index
        std::size_t begin = 0;
        for (std::size_t k = 0; k < chunks; ++k) {
            const std::size_t end = begin + base + (k < extra ? 1 : 0);
            workers.emplace_back([&body, &errors, k, begin, end] {
                // An exception escaping a thread's function calls std::terminate: catch it here
                // and hand it to the caller instead.
                try {
                    body(begin, end);
                } catch (...) {
                    errors[k] = std::current_exception();
                }
            });
            begin = end;
        }
    }
    for (const std::exception_ptr& error : errors) {
        if (error) {
            std::rethrow_exception(error);
        }
    }
}

std::vector<u128> sum_of_squares_many(std::span<const std::uint64_t> ns, unsigned threads) {
    std::vector<u128> results(ns.size());
    parallel_for(ns.size(), threads, [&](std::size_t begin, std::size_t end) {
        // Chunks are disjoint, so every element has exactly one writer: no lock needed.
        for (std::size_t i = begin; i < end; ++i) {
            results[i] = sum_of_squares(ns[i]);
        }
    });
    return results;
}

u128 sum_of_squares_total(std::span<const std::uint64_t> ns, unsigned threads) {
    u128 total = 0;
    parallel_for(ns.size(), threads, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
            // BUG: every thread does a read-modify-write of the shared total without a lock: a
            // data race (undefined behaviour) that loses updates when two adds interleave.
            // ThreadSanitizer reports it; with many tiny inputs the plain total comes out short.
            total += sum_of_squares(ns[i]);
        }
    });
    return total;
}

}  // namespace lesson7
