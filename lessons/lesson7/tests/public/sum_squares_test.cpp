// Public tests of lesson 7.1: exact sums of squares, parallel_for's chunks and threads, parallel
// sums.
#include "lesson7/sum_squares.hpp"

#include "thread_count.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <numeric>
#include <set>
#include <stdexcept>
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

// The seed's experiment: the 20 inputs 10,000,000 + x for x in 0..19.
std::vector<std::uint64_t> seed_inputs() {
    std::vector<std::uint64_t> ns(20);
    std::iota(ns.begin(), ns.end(), std::uint64_t{10'000'000});
    return ns;
}

// Records every call of a parallel_for body: its chunk and the thread that ran it.
class ChunkLog {
  public:
    void record(std::size_t begin, std::size_t end) {
        const std::scoped_lock lock(mutex_);
        chunks_.emplace_back(begin, end);
        thread_ids_.insert(std::this_thread::get_id());
    }
    // Only called after parallel_for returned (all threads joined), so no lock is needed.
    std::vector<std::pair<std::size_t, std::size_t>> sorted_chunks() const {
        auto sorted = chunks_;
        std::sort(sorted.begin(), sorted.end());
        return sorted;
    }
    const std::set<std::thread::id>& thread_ids() const { return thread_ids_; }

  private:
    std::mutex mutex_;
    std::vector<std::pair<std::size_t, std::size_t>> chunks_;
    std::set<std::thread::id> thread_ids_;
};

// Checks that the chunks are non-empty, contiguous and cover [0, count) exactly once.
void expect_exact_cover(const ChunkLog& log, std::size_t count) {
    std::size_t next = 0;
    for (const auto& [begin, end] : log.sorted_chunks()) {
        EXPECT_EQ(begin, next)
            << "chunk [" << begin << ", " << end << ") does not start where the "
            << "previous one ended\nhint: chunk k must start at the end of chunk "
               "k-1; no gaps, no overlaps";
        EXPECT_LT(begin, end) << "empty chunk [" << begin << ", " << end
                              << ")\nhint: start no thread for an empty chunk";
        next = end;
    }
    EXPECT_EQ(next, count) << "the chunks do not end at count\nhint: the last chunk ends at count";
}

using test_support::max_extra_threads;

TEST(SumOfSquares, SmallInputsMatchCountingByHand) {
    const std::array<std::pair<std::uint64_t, int>, 6> cases{
        {{0, 0}, {1, 0}, {2, 1}, {3, 5}, {4, 14}, {10, 285}}};
    for (const auto& [n, want] : cases) {
        EXPECT_EQ(to_string(sum_of_squares(n)), std::to_string(want))
            << "sum_of_squares(" << n << ")\nhint: the range is [0, n): n itself is not included";
    }
}

TEST(SumOfSquares, MatchesClosedFormUpToTwoThousand) {
    for (std::uint64_t n = 0; n <= 2000; ++n) {
        ASSERT_EQ(to_string(sum_of_squares(n)), to_string(closed_form(n)))
            << "sum_of_squares(" << n << ") differs from n(n-1)(2n-1)/6";
    }
}

TEST(SumOfSquares, SeedInputTenMillionIsExact) {
    // The seed's Python printed 333333283333335000000 for n = 10,000,000: about 18 times 2^64.
    EXPECT_EQ(to_string(closed_form(10'000'000)), "333333283333335000000");
    EXPECT_EQ(to_string(sum_of_squares(10'000'000)), "333333283333335000000")
        << "hint: the sum does not fit in 64 bits (max about 1.8e19): accumulate in u128";
}

TEST(ParallelFor, CoversEveryIndexExactlyOnceInContiguousChunks) {
    for (const auto& [count, threads] :
         std::array<std::pair<std::size_t, unsigned>, 4>{{{1000, 4}, {10, 3}, {7, 7}, {1, 2}}}) {
        SCOPED_TRACE("count=" + std::to_string(count) + " threads=" + std::to_string(threads));
        ChunkLog log;
        parallel_for(count, threads,
                     [&log](std::size_t begin, std::size_t end) { log.record(begin, end); });
        EXPECT_EQ(log.sorted_chunks().size(), std::min<std::size_t>(count, threads))
            << "hint: one chunk per thread, min(count, threads) chunks in all";
        expect_exact_cover(log, count);
    }
}

TEST(ParallelFor, RunsChunksOnAtMostThreadsNewThreads) {
    ChunkLog log;
    parallel_for(10'000, 3, [&log](std::size_t begin, std::size_t end) { log.record(begin, end); });
    EXPECT_LE(log.thread_ids().size(), 3U)
        << "body ran on " << log.thread_ids().size() << " distinct threads for threads=3\n"
        << "hint: start one thread per chunk, not one per index";
    EXPECT_EQ(log.thread_ids().count(std::this_thread::get_id()), 0U)
        << "hint: every chunk runs on a new std::thread; the caller only joins";
}

TEST(ParallelFor, ChunkSizesDifferByAtMostOne) {
    ChunkLog log;
    parallel_for(10, 4, [&log](std::size_t begin, std::size_t end) { log.record(begin, end); });
    std::vector<std::size_t> sizes;
    for (const auto& [begin, end] : log.sorted_chunks()) {
        sizes.push_back(end - begin);
    }
    ASSERT_EQ(sizes.size(), 4U);
    const auto [smallest, largest] = std::minmax_element(sizes.begin(), sizes.end());
    EXPECT_LE(*largest - *smallest, 1U)
        << "10 indices on 4 threads should be chunks of 3, 3, 2, 2\n"
        << "hint: give the first count % threads chunks one extra index";
}

TEST(ParallelFor, ChunksRunAtTheSameTime) {
    // Both chunks wait here for each other. If parallel_for ran them one after the other, the
    // first would wait alone; the 10 s bound turns that hang into a failure (it is not a timing
    // assertion: a parallel run passes in microseconds).
    std::mutex mutex;
    std::condition_variable both_arrived;
    int arrived = 0;
    bool met = true;
    parallel_for(2, 2, [&](std::size_t /*begin*/, std::size_t /*end*/) {
        std::unique_lock lock(mutex);
        ++arrived;
        both_arrived.notify_all();
        if (!both_arrived.wait_for(lock, std::chrono::seconds(10), [&] { return arrived == 2; })) {
            met = false;
        }
    });
    EXPECT_TRUE(met) << "the two chunks never ran at the same time\n"
                     << "hint: start all threads first, then join them all";
}

TEST(ParallelFor, ZeroCountCallsNothing) {
    int calls = 0;
    parallel_for(0, 4, [&calls](std::size_t /*begin*/, std::size_t /*end*/) { ++calls; });
    EXPECT_EQ(calls, 0) << "hint: count == 0 means no chunk at all";
}

TEST(ParallelFor, ZeroThreadsThrowsInvalidArgument) {
    int calls = 0;
    EXPECT_THROW(
        parallel_for(10, 0, [&calls](std::size_t /*begin*/, std::size_t /*end*/) { ++calls; }),
        std::invalid_argument)
        << "hint: threads == 0 cannot do any work; say so with std::invalid_argument";
    EXPECT_EQ(calls, 0);
}

TEST(ParallelFor, RethrowsAnExceptionFromBodyInTheCaller) {
    std::mutex mutex;
    std::size_t done = 0;
    EXPECT_THROW(parallel_for(4, 4,
                              [&](std::size_t begin, std::size_t /*end*/) {
                                  if (begin == 2) {
                                      throw std::runtime_error("chunk 2 failed");
                                  }
                                  const std::scoped_lock lock(mutex);
                                  ++done;
                              }),
                 std::runtime_error)
        << "hint: catch inside the thread, keep a std::exception_ptr, rethrow after joining";
    EXPECT_EQ(done, 3U) << "hint: the other chunks still run to the end and are joined";
}

TEST(ParallelSums, ManyKeepsInputOrder) {
    const std::vector<std::uint64_t> ns{5, 1, 4, 0, 3, 2, 10, 7, 1000, 9};
    const std::vector<u128> got = sum_of_squares_many(ns, 3);
    ASSERT_EQ(got.size(), ns.size());
    for (std::size_t i = 0; i < ns.size(); ++i) {
        EXPECT_EQ(to_string(got[i]), to_string(closed_form(ns[i])))
            << "result " << i << " (n=" << ns[i] << ")\nhint: result i belongs to input i, "
            << "whichever thread computed it";
    }
}

TEST(ParallelSums, ManyReproducesTheSeedExperiment) {
    const std::vector<std::uint64_t> ns = seed_inputs();
    const std::vector<u128> got = sum_of_squares_many(ns, 2);
    ASSERT_EQ(got.size(), ns.size());
    for (std::size_t i = 0; i < ns.size(); ++i) {
        EXPECT_EQ(to_string(got[i]), to_string(closed_form(ns[i]))) << "n=" << ns[i];
    }
    // The last line the seed's Python printed.
    EXPECT_EQ(to_string(got.back()), "333335183336755002109");
}

TEST(ParallelSums, TotalOfManySmallInputsIsExact) {
    // Many tiny inputs on more threads than cores: the threads add to the total very often, so
    // an unprotected total loses updates (and ThreadSanitizer reports the race).
    std::vector<std::uint64_t> ns(100'000);
    u128 want = 0;
    for (std::size_t i = 0; i < ns.size(); ++i) {
        ns[i] = i % 50;
        want += closed_form(ns[i]);
    }
    EXPECT_EQ(to_string(sum_of_squares_total(ns, 8)), to_string(want))
        << "hint: all threads update one total; protect it with a std::mutex";
}

TEST(ParallelSums, TotalOfSeedInputsIsExact) {
    const std::vector<std::uint64_t> ns = seed_inputs();
    u128 want = 0;
    for (const std::uint64_t n : ns) {
        want += closed_form(n);
    }
    EXPECT_EQ(to_string(sum_of_squares_total(ns, 2)), to_string(want));
}

TEST(ParallelSums, ManyRunsItsChunksAtTheSameTime) {
    // Four inputs of 60 million (tens of milliseconds each) on four threads.
    const std::vector<std::uint64_t> ns(4, 60'000'000);
    std::vector<u128> got;
    const std::size_t extra = max_extra_threads([&] { got = sum_of_squares_many(ns, 4); }, 4);
    ASSERT_EQ(got.size(), 4U);
    EXPECT_EQ(to_string(got[3]), to_string(closed_form(60'000'000)));
    EXPECT_GE(extra, 4U) << "at most " << extra
                         << " threads of sum_of_squares_many existed at once\n"
                         << "hint: parallel_for starts every chunk's thread before it joins any";
}

TEST(ParallelSums, EmptyInputsGiveEmptyResults) {
    EXPECT_TRUE(sum_of_squares_many({}, 2).empty());
    EXPECT_EQ(to_string(sum_of_squares_total({}, 2)), "0");
}

TEST(ParallelSums, ZeroThreadsThrowsInvalidArgument) {
    const std::vector<std::uint64_t> ns{1, 2, 3};
    EXPECT_THROW(sum_of_squares_many(ns, 0), std::invalid_argument);
    EXPECT_THROW(sum_of_squares_total(ns, 0), std::invalid_argument);
    EXPECT_THROW(sum_of_squares_total({}, 0), std::invalid_argument)
        << "hint: check threads even when there is nothing to do";
}

}  // namespace
}  // namespace lesson7
