// Hidden tests of lesson 7.1: the 64-bit boundary, exception choice, balance and races at scale.
#include "lesson7/sum_squares.hpp"

#include "../public/thread_count.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <future>
#include <limits>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace lesson7 {
namespace {

// The expected value, from the closed form n(n-1)(2n-1)/6 in 128 bits (never from a loop).
u128 closed_form(std::uint64_t n) {
    if (n == 0) {
        return 0;
    }
    const u128 big = n;
    return big * (big - 1) * (2 * big - 1) / 6;
}

// The largest n whose sum of squares still fits in 64 bits (found by bisection on the closed form).
std::uint64_t last_n_fitting_64_bits() {
    const u128 limit = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t low = 0;
    std::uint64_t high = 10'000'000;  // closed_form(high) > limit
    while (high - low > 1) {
        const std::uint64_t mid = low + (high - low) / 2;
        if (closed_form(mid) <= limit) {
            low = mid;
        } else {
            high = mid;
        }
    }
    return low;
}

using test_support::max_extra_threads;

TEST(SumOfSquaresHidden, ExactOnBothSidesOfTheSixtyFourBitLimit) {
    const std::uint64_t last = last_n_fitting_64_bits();
    ASSERT_GT(closed_form(last + 1), u128{std::numeric_limits<std::uint64_t>::max()});
    for (const std::uint64_t n : {last, last + 1, last + 2}) {
        EXPECT_EQ(to_string(sum_of_squares(n)), to_string(closed_form(n)))
            << "n=" << n << " (the sum first exceeds 2^64 - 1 at n=" << last + 1 << ")\n"
            << "hint: a 64-bit accumulator wraps silently; use u128";
    }
}

TEST(SumOfSquaresHidden, LastSeedInputIsExact) {
    EXPECT_EQ(to_string(sum_of_squares(10'000'019)), "333335183336755002109");
}

TEST(SumOfSquaresHidden, ConcurrentCallsDoNotInterfere) {
    // sum_of_squares must be a pure function: no static or global scratch state.
    const std::vector<std::uint64_t> ns{300'000, 300'001, 299'999, 123'457};
    std::vector<std::future<u128>> futures;
    futures.reserve(ns.size());
    for (const std::uint64_t n : ns) {
        // std::async carries an exception (such as the starter's) back to get() instead of
        // terminating the test binary.
        futures.push_back(std::async(std::launch::async, [n] { return sum_of_squares(n); }));
    }
    for (std::size_t i = 0; i < ns.size(); ++i) {
        EXPECT_EQ(to_string(futures[i].get()), to_string(closed_form(ns[i]))) << "n=" << ns[i];
    }
}

TEST(SumOfSquaresHidden, ToStringPrintsDecimalDigits) {
    EXPECT_EQ(to_string(u128{0}), "0");
    EXPECT_EQ(to_string(std::numeric_limits<u128>::max()),
              "340282366920938463463374607431768211455");
}

TEST(ParallelHidden, RethrowsTheLowestChunksExceptionAfterJoiningAll) {
    std::mutex mutex;
    std::size_t finished = 0;
    try {
        parallel_for(6, 6, [&](std::size_t begin, std::size_t /*end*/) {
            {
                const std::scoped_lock lock(mutex);
                ++finished;
            }
            if (begin == 4) {
                throw std::runtime_error("chunk 4");
            }
            if (begin == 1) {
                throw std::out_of_range("chunk 1");
            }
        });
        ADD_FAILURE() << "parallel_for returned although two chunks threw";
    } catch (const std::out_of_range& error) {
        EXPECT_STREQ(error.what(), "chunk 1");
    } catch (const std::exception& error) {
        ADD_FAILURE() << "rethrew '" << error.what() << "', expected chunk 1's out_of_range\n"
                      << "hint: rethrow the exception of the lowest-numbered chunk, whatever the "
                         "order in which the threads failed";
    }
    EXPECT_EQ(finished, 6U) << "hint: join every thread before rethrowing";
}

TEST(ParallelHidden, LargeCountIsBalancedAndCovered) {
    constexpr std::size_t count = 1'000'003;
    constexpr unsigned threads = 7;
    std::mutex mutex;
    std::vector<std::pair<std::size_t, std::size_t>> chunks;
    std::set<std::thread::id> ids;
    parallel_for(count, threads, [&](std::size_t begin, std::size_t end) {
        const std::scoped_lock lock(mutex);
        chunks.emplace_back(begin, end);
        ids.insert(std::this_thread::get_id());
    });
    std::sort(chunks.begin(), chunks.end());
    ASSERT_EQ(chunks.size(), threads);
    EXPECT_EQ(ids.size(), threads) << "hint: each chunk runs on its own thread";
    std::size_t next = 0;
    std::size_t smallest = count;
    std::size_t largest = 0;
    for (const auto& [begin, end] : chunks) {
        EXPECT_EQ(begin, next) << "hint: no gaps or overlaps between chunks";
        next = end;
        smallest = std::min(smallest, end - begin);
        largest = std::max(largest, end - begin);
    }
    EXPECT_EQ(next, count);
    EXPECT_LE(largest - smallest, 1U) << "hint: chunk sizes may differ by at most one";
}

TEST(ParallelHidden, OneThreadRunsOneChunkOffTheCallingThread) {
    std::vector<std::pair<std::size_t, std::size_t>> chunks;
    std::thread::id runner;
    parallel_for(100, 1, [&](std::size_t begin, std::size_t end) {
        chunks.emplace_back(begin, end);
        runner = std::this_thread::get_id();
    });
    ASSERT_EQ(chunks.size(), 1U);
    EXPECT_EQ(chunks.front(), (std::pair<std::size_t, std::size_t>{0, 100}));
    EXPECT_NE(runner, std::this_thread::get_id()) << "hint: even one chunk runs on a new thread";
}

TEST(ParallelHidden, TotalStaysExactUnderHeavyContention) {
    // Tiny inputs on 16 threads, five times over: an unsynchronised total loses updates.
    std::vector<std::uint64_t> ns(50'000);
    u128 want = 0;
    for (std::size_t i = 0; i < ns.size(); ++i) {
        ns[i] = (i * 7) % 64;
        want += closed_form(ns[i]);
    }
    for (int round = 0; round < 5; ++round) {
        ASSERT_EQ(to_string(sum_of_squares_total(ns, 16)), to_string(want))
            << "round " << round << "\nhint: guard the shared total with a std::mutex";
    }
}

TEST(ParallelHidden, TotalRunsItsChunksAtTheSameTime) {
    const std::vector<std::uint64_t> ns(3, 60'000'000);
    u128 total = 0;
    const std::size_t extra = max_extra_threads([&] { total = sum_of_squares_total(ns, 3); }, 3);
    EXPECT_EQ(to_string(total), to_string(3 * closed_form(60'000'000)));
    EXPECT_GE(extra, 3U) << "at most " << extra << " threads of sum_of_squares_total existed at "
                         << "once\nhint: start all chunks' threads first, then join them all";
}

TEST(ParallelHidden, ManyWithMoreThreadsThanInputs) {
    const std::vector<std::uint64_t> ns{12, 0, 5};
    const std::vector<u128> got = sum_of_squares_many(ns, 64);
    ASSERT_EQ(got.size(), ns.size());
    for (std::size_t i = 0; i < ns.size(); ++i) {
        EXPECT_EQ(to_string(got[i]), to_string(closed_form(ns[i]))) << "n=" << ns[i];
    }
}

}  // namespace
}  // namespace lesson7
