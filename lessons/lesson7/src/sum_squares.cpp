// Your work for lesson 7.1: exact sums of squares and a chunked parallel_for on std::thread.
#include "lesson7/sum_squares.hpp"

#include <stdexcept>

namespace lesson7 {

// TODO(lesson7): the exact sum by running the loop (the README says what goes wrong in 64 bits).
u128 sum_of_squares(std::uint64_t n) {
    static_cast<void>(n);
    throw std::logic_error(
        "lesson7: sum_of_squares is not implemented yet (lessons/lesson7/src/sum_squares.cpp)");
}

// TODO(lesson7): run body over min(count, threads) balanced chunks, one new thread each (see the
// header).
void parallel_for(std::size_t count, unsigned threads, const ChunkBody& body) {
    static_cast<void>(count);
    static_cast<void>(threads);
    static_cast<void>(body);
    throw std::logic_error(
        "lesson7: parallel_for is not implemented yet (lessons/lesson7/src/sum_squares.cpp)");
}

// TODO(lesson7): every input's sum, in input order, on parallel_for.
std::vector<u128> sum_of_squares_many(std::span<const std::uint64_t> ns, unsigned threads) {
    static_cast<void>(ns);
    static_cast<void>(threads);
    throw std::logic_error(
        "lesson7: sum_of_squares_many is not implemented yet "
        "(lessons/lesson7/src/sum_squares.cpp)");
}

// TODO(lesson7): one total that every thread adds to, without a data race.
u128 sum_of_squares_total(std::span<const std::uint64_t> ns, unsigned threads) {
    static_cast<void>(ns);
    static_cast<void>(threads);
    throw std::logic_error(
        "lesson7: sum_of_squares_total is not implemented yet "
        "(lessons/lesson7/src/sum_squares.cpp)");
}

}  // namespace lesson7
