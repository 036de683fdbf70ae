// Hidden tests of lesson 7.3, task 1: the mini loop's edge cases (ordering inside one iteration,
// cancelling from callbacks, reentrancy, closed descriptors, many timers, the real clock).
#include "lesson7/mini_loop.hpp"

#include "../public/mini_loop_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace lesson7::mini {
namespace {

using namespace std::chrono_literals;
using test_support::describe;
using test_support::drain;
using test_support::ms;
using test_support::Pipe;

using Log = std::vector<std::string>;

TEST(MiniLoopHidden, ReadersRunBeforeTimersOfTheSameIteration) {
    ManualClock clock;
    Loop loop(clock);
    Pipe pipe;
    pipe.write("x");
    Log log;
    loop.call_later(0ms, [&] {
        log.emplace_back("timer");
        loop.stop();
    });
    loop.add_reader(pipe.read_fd(), [&] {
        log.emplace_back("reader");
        drain(pipe.read_fd());
        loop.remove_reader(pipe.read_fd());
    });
    loop.run_forever();
    EXPECT_EQ(log, (Log{"reader", "timer"}))
        << "hint: one iteration: wait, then ready readers, then due timers, then run them all";
    EXPECT_EQ(clock.waits().size(), 1U) << "waits: " << describe(clock.waits());
}

TEST(MiniLoopHidden, ATimerCancelledByAnEarlierTimerOfTheSameIterationDoesNotRun) {
    ManualClock clock;
    Loop loop(clock);
    Log log;
    Handle second;
    loop.call_later(5ms, [&] {
        log.emplace_back("first");
        second.cancel();
        loop.stop();
    });
    second = loop.call_later(5ms, [&] { log.emplace_back("second"); });
    loop.run_forever();
    EXPECT_EQ(log, (Log{"first"}))
        << "hint: both were due in the same iteration, but the second was cancelled before its "
           "turn";
}

TEST(MiniLoopHidden, ACallbackMayCancelItsOwnHandleWhileRunning) {
    ManualClock clock;
    Loop loop(clock);
    auto self = std::make_shared<Handle>();
    auto token = std::make_shared<int>(1);
    int runs = 0;
    *self = loop.call_soon([&runs, self, token] {
        ++runs;
        self->cancel();  // must not destroy the std::function that is running
        EXPECT_EQ(*token, 1);
    });
    loop.call_soon([&] { loop.stop(); });
    loop.run_forever();
    EXPECT_EQ(runs, 1);
}

TEST(MiniLoopHidden, CancelAfterTheCallbackRanChangesNothing) {
    ManualClock clock;
    Loop loop(clock);
    Handle h = loop.call_soon([&] { loop.stop(); });
    loop.run_forever();
    h.cancel();
    EXPECT_FALSE(h.cancelled()) << "hint: a callback that already ran can no longer be cancelled";
    Handle none;
    none.cancel();
    EXPECT_FALSE(none.cancelled()) << "hint: a default Handle refers to nothing";
}

TEST(MiniLoopHidden, DestroyingTheLoopDropsPendingCallbacksEvenSelfReferencingOnes) {
    std::weak_ptr<Handle> watch;
    {
        ManualClock clock;
        Loop loop(clock);
        auto self = std::make_shared<Handle>();
        watch = self;
        *self = loop.call_later(1h, [self] { static_cast<void>(self); });
        auto soon = std::make_shared<Handle>();
        *soon = loop.call_soon([soon] { static_cast<void>(soon); });
    }
    EXPECT_TRUE(watch.expired())
        << "hint: a callback that holds its own Handle forms a cycle (state -> callback -> "
           "handle -> state); ~Loop must destroy pending callbacks so that it is broken";
}

TEST(MiniLoopHidden, RunUntilFromACallbackThrowsAndTheLoopStaysUsable) {
    ManualClock clock;
    Loop loop(clock);
    bool nested_threw = false;
    loop.call_soon([&] {
        try {
            loop.run_forever();
        } catch (const std::logic_error&) {
            nested_threw = true;
        }
        loop.stop();
    });
    loop.run_forever();
    EXPECT_TRUE(nested_threw) << "hint: run_until is not reentrant: a nested run throws";
    Future<int> f;
    loop.call_soon([&] { f.set_result(3); });
    EXPECT_EQ(loop.run_until_complete(f), 3) << "hint: the outer run still works afterwards";
}

TEST(MiniLoopHidden, StopBeforeRunMakesTheNextRunOneIteration) {
    ManualClock clock;
    Loop loop(clock);
    Log log;
    loop.stop();
    loop.call_soon([&] {
        log.emplace_back("a");
        loop.call_soon([&] { log.emplace_back("b"); });
    });
    EXPECT_FALSE(loop.run_until([] { return false; }));
    EXPECT_EQ(log, (Log{"a"}));
    EXPECT_EQ(clock.waits(), (std::vector{ms(0)})) << "waits: " << describe(clock.waits());
}

TEST(MiniLoopHidden, StopWithNothingScheduledEndsWithoutError) {
    ManualClock clock;
    Loop loop(clock);
    loop.stop();
    EXPECT_NO_THROW(loop.run_forever())
        << "hint: a pending stop() is something to do: one iteration that waits 0, then return";
    EXPECT_EQ(clock.waits(), (std::vector{ms(0)})) << "waits: " << describe(clock.waits());
}

TEST(MiniLoopHidden, AConditionAlreadyTrueRunsNoIteration) {
    ManualClock clock;
    Loop loop(clock);
    bool ran = false;
    loop.call_soon([&] { ran = true; });
    EXPECT_TRUE(loop.run_until([] { return true; }));
    EXPECT_FALSE(ran);
    EXPECT_TRUE(clock.waits().empty()) << "waits: " << describe(clock.waits());
}

TEST(MiniLoopHidden, AThrowingTimerKeepsTheOtherDueTimersInOrder) {
    ManualClock clock;
    Loop loop(clock);
    Log log;
    const TimePoint when = clock.now() + 3ms;
    loop.call_at(when, [&] { log.emplace_back("1"); });
    loop.call_at(when, [] { throw std::out_of_range("timer 2"); });
    loop.call_at(when, [&] { log.emplace_back("3"); });
    loop.call_at(when, [&] {
        log.emplace_back("4");
        loop.stop();
    });
    EXPECT_THROW(loop.run_forever(), std::out_of_range);
    loop.run_forever();
    EXPECT_EQ(log, (Log{"1", "3", "4"}));
}

TEST(MiniLoopHidden, ManyTimersComeOutSorted) {
    ManualClock clock;
    Loop loop(clock);
    std::vector<std::pair<std::int64_t, int>> fired;
    std::vector<std::pair<std::int64_t, int>> expected;
    std::uint32_t x = 12345;  // a fixed pseudo-random sequence: the same deadlines every run
    const TimePoint start = clock.now();
    for (int i = 0; i < 3000; ++i) {
        x = x * 1664525U + 1013904223U;
        const std::int64_t at_us = (x >> 8) % 500;  // many equal deadlines among 500 values
        expected.emplace_back(at_us, i);
        loop.call_at(start + std::chrono::microseconds(at_us),
                     [&fired, at_us, i] { fired.emplace_back(at_us, i); });
    }
    std::stable_sort(expected.begin(), expected.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    Future<bool> f;
    loop.call_at(start + 1ms, [&] { f.set_result(true); });
    loop.run_until_complete(f);
    EXPECT_EQ(fired, expected) << "hint: (deadline, insertion order) is the heap's key";
}

TEST(MiniLoopHidden, ReplacingAReaderFromItsOwnCallback) {
    ManualClock clock;
    Loop loop(clock);
    Pipe pipe;
    pipe.write("12");
    Log log;
    const int fd = pipe.read_fd();
    auto big = std::make_shared<std::string>(1000, 'x');  // heap memory ASan can watch
    loop.add_reader(fd, [&, big] {
        std::array<char, 1> one{};
        ASSERT_EQ(::read(fd, one.data(), 1), 1);
        // Replaces the running reader: the running callback (and `big`) must stay alive.
        loop.add_reader(fd, [&] {
            log.emplace_back("second: " + drain(fd).bytes);
            loop.remove_reader(fd);
            loop.stop();
        });
        log.emplace_back("first: " + std::string(1, one[0]) + " " + std::to_string(big->size()));
    });
    loop.run_forever();
    EXPECT_EQ(log, (Log{"first: 1 1000", "second: 2"}));
}

TEST(MiniLoopHidden, AClosedDescriptorWithAReaderIsReportedByNumber) {
    ManualClock clock;
    Loop loop(clock);
    Pipe pipe;
    const int fd = pipe.read_fd();
    loop.add_reader(fd, [] {});
    pipe.close_read();  // the mistake: closed while the loop still watches it
    try {
        loop.run_forever();
        ADD_FAILURE() << "expected std::logic_error for a reader on a closed descriptor";
    } catch (const std::logic_error& e) {
        EXPECT_NE(std::string(e.what()).find(std::to_string(fd)), std::string::npos)
            << "hint: the message names the descriptor; got: " << e.what();
    }
    EXPECT_FALSE(loop.remove_reader(fd)) << "hint: the loop removed the invalid reader itself";
}

TEST(MiniLoopHidden, AReaderThatDoesNotDrainIsCalledEveryIteration) {
    ManualClock clock;
    Loop loop(clock);
    Pipe pipe;
    pipe.write("abc");
    std::string got;
    loop.add_reader(pipe.read_fd(), [&] {
        std::array<char, 1> one{};
        ASSERT_EQ(::read(pipe.read_fd(), one.data(), 1), 1);
        got += one[0];
        if (got.size() == 3) {
            loop.remove_reader(pipe.read_fd());
            loop.stop();
        }
    });
    loop.run_forever();
    EXPECT_EQ(got, "abc") << "hint: readiness is level-triggered: data left behind wakes it again";
    EXPECT_EQ(clock.waits().size(), 3U) << "waits: " << describe(clock.waits());
}

TEST(MiniLoopHidden, TheRealClockRunsARealTimer) {
    Loop loop;  // SystemClock: a real poll(2) with a real timeout
    const TimePoint start = loop.clock().now();
    Future<TimePoint> f;
    loop.call_later(2ms, [&] { f.set_result(loop.clock().now()); });
    EXPECT_GE(loop.run_until_complete(f) - start, 2ms)
        << "hint: a timer never runs before its deadline";
}

}  // namespace
}  // namespace lesson7::mini
