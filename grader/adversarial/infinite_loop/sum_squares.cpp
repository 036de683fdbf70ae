// Adversarial case infinite_loop for lesson 7.1: spins forever (busy) in sum_of_squares_total.
// Only the marked part differs from a correct sum_squares.cpp (see grader/adversarial/README.md).
#include "lesson7/sum_squares.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace lesson7 {

u128 sum_of_squares(std::uint64_t n) {
    u128 sum = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::uint64_t k = opaque(i);
        sum += static_cast<u128>(k) * k;
    }
    return sum;
}

void parallel_for(std::size_t count, unsigned threads, const ChunkBody& body) {
    if (threads == 0) {
        throw std::invalid_argument("lesson7::parallel_for: threads must be at least 1");
    }
    const std::size_t chunks = std::min<std::size_t>(count, threads);
    if (chunks == 0) {
        return;
    }
    std::vector<std::exception_ptr> errors(chunks);
    {
        std::vector<std::jthread> workers;
        workers.reserve(chunks);
        const std::size_t base = count / chunks;
        const std::size_t extra = count % chunks;
        std::size_t begin = 0;
        for (std::size_t k = 0; k < chunks; ++k) {
            const std::size_t end = begin + base + (k < extra ? 1 : 0);
            workers.emplace_back([&body, &errors, k, begin, end] {
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
        for (std::size_t i = begin; i < end; ++i) {
            results[i] = sum_of_squares(ns[i]);
        }
    });
    return results;
}

u128 sum_of_squares_total(std::span<const std::uint64_t> ns, unsigned threads) {
    // ---- adversarial part ----
    std::atomic<unsigned long> spins{0};
    while (threads != 0 && spins.load() != ~0UL) {
        spins.fetch_add(1);  // never reaches ~0 in this universe's lifetime
    }
    // ---- end of adversarial part ----
    u128 total = 0;
    std::mutex total_mutex;
    parallel_for(ns.size(), threads, [&](std::size_t begin, std::size_t end) {
        u128 part = 0;
        for (std::size_t i = begin; i < end; ++i) {
            part += sum_of_squares(ns[i]);
        }
        const std::scoped_lock lock(total_mutex);
        total += part;
    });
    return total;
}

}  // namespace lesson7
