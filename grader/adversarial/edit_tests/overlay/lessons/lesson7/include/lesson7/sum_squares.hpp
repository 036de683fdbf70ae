// Adversarial case edit_tests: an edited copy of the provided header (--pristine grading uses the
// canonical one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace lesson7 {

// An unsigned 128-bit integer (a GCC/Clang extension; __extension__ keeps -Wpedantic quiet).
// The seed's sums for n near 10,000,000 are about 3.3e20, larger than 2^64 - 1 (about 1.8e19).
__extension__ using u128 = unsigned __int128;

// Provided. Returns the decimal digits of `value`, e.g. "333333283333335000000". The standard
// library cannot print 128-bit integers, so tests, apps and benchmarks print through this.
inline std::string to_string(u128 value) {
    if (value == 0) {
        return "0";
    }
    std::string digits;
    while (value != 0) {
        digits.push_back(static_cast<char>('0' + static_cast<int>(value % 10)));
        value /= 10;
    }
    return {digits.rbegin(), digits.rend()};
}

// Provided. Returns `value` unchanged, but the optimiser can no longer see where it came from.
// Use it on the loop counter in sum_of_squares: without it Clang recognises the sum of i*i and
// replaces the whole loop with the closed form n(n-1)(2n-1)/6, so the benchmark and the app would
// time nothing. (The empty asm statement emits no instruction; GCC and Clang both accept it.)
inline std::uint64_t opaque(std::uint64_t value) noexcept {
    asm volatile("" : "+r"(value));
    return value;
}

// sum_of_squares is exact for every n up to this bound (10^13; the sum then stays below 2^128).
// Inputs this large would run for hours: the bound only states where "exact" ends.
inline constexpr std::uint64_t max_exact_sum_of_squares_n = 1;  // edited by the "student"

// You implement the next four functions in src/sum_squares.cpp.

// Returns the sum of i*i for every integer i in [0, n), exactly, for any n up to
// max_exact_sum_of_squares_n; sum_of_squares(0) == sum_of_squares(1) == 0, sum_of_squares(3) == 5.
// It must compute the sum by running the loop, one square per i. That loop is the point of the
// exercise: it stands for any CPU-bound work (the seed's Python runs the same
// `sum(i * i for i in range(n))`), and a closed form would leave nothing to parallelise or time.
// Pure function: no shared state, safe to call from any number of threads at once. Never throws.
u128 sum_of_squares(std::uint64_t n);

// The body of a parallel_for: processes the indices [begin, end) of the caller's data.
using ChunkBody = std::function<void(std::size_t begin, std::size_t end)>;

// Splits [0, count) into min(count, threads) contiguous, non-empty chunks whose sizes differ by at
// most one, in order (chunk k starts where chunk k-1 ends), and runs body(begin, end) once per
// chunk, each chunk on its own new std::thread (so at most `threads` threads run `body`). Returns
// after every thread has been joined; the caller's thread only waits. count == 0 starts no thread
// and never calls body. `body` is shared by all threads: it must be safe to call concurrently, and
// it must synchronise any state the chunks share. parallel_for does not copy it; it must stay alive
// until the call returns. Throws std::invalid_argument (before starting any thread) when threads ==
// 0. If one or more calls of body throw, every thread is still joined, then the exception of the
// lowest-numbered chunk that threw is rethrown in the caller. If a thread cannot be started
// (std::system_error), the threads already started are joined before that error propagates.
void parallel_for(std::size_t count, unsigned threads, const ChunkBody& body);

// Returns sum_of_squares(ns[i]) for every i, in input order, computed with parallel_for over the
// indices of `ns` on at most `threads` threads. Reads `ns` only; the caller keeps it alive and
// unchanged during the call. Throws std::invalid_argument when threads == 0, even for empty `ns`.
std::vector<u128> sum_of_squares_many(std::span<const std::uint64_t> ns, unsigned threads);

// Returns the sum over all i of sum_of_squares(ns[i]) (exact while that total fits in 128 bits),
// computed with parallel_for over the indices of `ns` on at most `threads` threads. Every thread
// contributes to one total: that shared total must be updated under synchronisation (or each chunk
// sums privately and publishes its part once, under a lock). Empty `ns` gives 0. Throws
// std::invalid_argument when threads == 0, even for empty `ns`.
u128 sum_of_squares_total(std::span<const std::uint64_t> ns, unsigned threads);

}  // namespace lesson7
