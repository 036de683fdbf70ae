// Your work for lesson 7.1: exact sums of squares and a chunked parallel_for on std::thread.
#include "lesson7/sum_squares.hpp"

#include <stdexcept>

namespace lesson7 {

// TODO(lesson7): return the sum of i*i for i in [0, n), one square per loop iteration. The seed's
// inputs (n near 10,000,000) give sums near 3.3e20, beyond 2^64: accumulate in u128, and widen i to
// u128 before multiplying. Pass the loop counter through opaque() (see the header) so that no
// compiler replaces your loop with the closed form.
u128 sum_of_squares(std::uint64_t n) {
    static_cast<void>(n);
    throw std::logic_error(
        "lesson7: sum_of_squares is not implemented yet (lessons/lesson7/src/sum_squares.cpp)");
}

// TODO(lesson7): throw std::invalid_argument if threads == 0. Otherwise split [0, count) into
// min(count, threads) contiguous chunks whose sizes differ by at most one, start one std::thread
// per chunk that calls body(begin, end), and join them all. Catch what body throws inside each
// thread (an exception escaping a thread ends the program), keep it per chunk, and after joining
// rethrow the one of the lowest-numbered chunk (std::exception_ptr).
void parallel_for(std::size_t count, unsigned threads, const ChunkBody& body) {
    static_cast<void>(count);
    static_cast<void>(threads);
    static_cast<void>(body);
    throw std::logic_error(
        "lesson7: parallel_for is not implemented yet (lessons/lesson7/src/sum_squares.cpp)");
}

// TODO(lesson7): compute sum_of_squares(ns[i]) for every i with parallel_for and return the
// results in input order. Which thread writes which element of the result?
std::vector<u128> sum_of_squares_many(std::span<const std::uint64_t> ns, unsigned threads) {
    static_cast<void>(ns);
    static_cast<void>(threads);
    throw std::logic_error(
        "lesson7: sum_of_squares_many is not implemented yet "
        "(lessons/lesson7/src/sum_squares.cpp)");
}

// TODO(lesson7): return the total of sum_of_squares(ns[i]) over all i, computed with parallel_for.
// Every thread adds to the same total: protect it (std::mutex), and take the lock once per chunk
// rather than once per input.
u128 sum_of_squares_total(std::span<const std::uint64_t> ns, unsigned threads) {
    static_cast<void>(ns);
    static_cast<void>(threads);
    throw std::logic_error(
        "lesson7: sum_of_squares_total is not implemented yet "
        "(lessons/lesson7/src/sum_squares.cpp)");
}

}  // namespace lesson7
