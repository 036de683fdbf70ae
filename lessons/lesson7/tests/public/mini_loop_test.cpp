// Public tests of lesson 7.3, task 1: the mini loop's ready queue, timers and readers, on a manual
// clock (no test sleeps; the clock records every timeout the loop waits with).
#include "lesson7/mini_loop.hpp"

#include "mini_loop_test_support.hpp"

#include <gtest/gtest.h>

#include <array>
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
using test_support::forever;
using test_support::ms;
using test_support::Pipe;

using Log = std::vector<std::string>;

// --- the ready queue, run and stop -----------------------------------------------------------

TEST(MiniLoopReady, CallSoonRunsCallbacksInOrder) {
    ManualClock clock;
    Loop loop(clock);
    Log log;
    Future<int> f;
    loop.call_soon([&] { log.emplace_back("a"); });
    loop.call_soon([&] { log.emplace_back("b"); });
    loop.call_soon([&] {
        log.emplace_back("c");
        f.set_result(42);
    });
    EXPECT_EQ(loop.run_until_complete(f), 42)
        << "hint: run_until_complete runs the loop until a callback completes the future";
    EXPECT_EQ(log, (Log{"a", "b", "c"})) << "hint: the ready queue is first in, first out";
    EXPECT_EQ(clock.waits(), (std::vector{ms(0)}))
        << "hint: one iteration, and it must not wait: callbacks were ready. waits: "
        << describe(clock.waits());
}

TEST(MiniLoopReady, ACallbackScheduledByACallbackRunsInTheNextIteration) {
    ManualClock clock;
    Loop loop(clock);
    Log log;
    loop.call_soon([&] {
        log.emplace_back("first");
        loop.call_soon([&] {
            log.emplace_back("second");
            loop.stop();
        });
        loop.stop();
    });
    loop.run_forever();
    EXPECT_EQ(log, (Log{"first"}))
        << "hint: an iteration runs only the callbacks that were ready when its run phase began; "
           "what they schedule waits for the next iteration (asyncio's rule), and stop() ends the "
           "run after the current iteration";
    EXPECT_EQ(clock.waits().size(), 1U) << "waits: " << describe(clock.waits());
    loop.run_forever();
    EXPECT_EQ(log, (Log{"first", "second"}))
        << "hint: the callback left in the queue runs in the next run";
}

TEST(MiniLoopReady, StopFinishesTheCurrentIteration) {
    ManualClock clock;
    Loop loop(clock);
    Log log;
    loop.call_soon([&] {
        log.emplace_back("stopper");
        loop.stop();
    });
    loop.call_soon([&] { log.emplace_back("same batch"); });
    EXPECT_FALSE(loop.run_until([] { return false; }))
        << "hint: run_until returns false when stop() ended the run";
    EXPECT_EQ(log, (Log{"stopper", "same batch"}))
        << "hint: stop() takes effect after the rest of this iteration's run phase";
}

TEST(MiniLoopReady, RunUntilCompleteRethrowsTheFuturesException) {
    ManualClock clock;
    Loop loop(clock);
    Future<int> f;
    loop.call_soon(
        [&] { f.set_exception(std::make_exception_ptr(std::runtime_error("no result"))); });
    EXPECT_THROW(loop.run_until_complete(f), std::runtime_error);
}

TEST(MiniLoopReady, RunUntilCompleteThrowsWhenStoppedFirst) {
    ManualClock clock;
    Loop loop(clock);
    Future<int> f;
    loop.call_soon([&] { loop.stop(); });
    EXPECT_THROW(loop.run_until_complete(f), std::runtime_error)
        << "hint: a stop before the future is done: run_until must return false";
}

TEST(MiniLoopReady, ALoopWithNothingLeftToRunThrowsInsteadOfHanging) {
    ManualClock clock;
    Loop loop(clock);
    Future<int> f;
    bool ran = false;
    loop.call_soon([&] { ran = true; }).cancel();
    loop.call_later(1s, [&] { ran = true; }).cancel();
    EXPECT_THROW(loop.run_until_complete(f), std::logic_error)
        << "hint: only cancelled callbacks and timers: nothing can ever complete the future";
    EXPECT_FALSE(ran);
    EXPECT_LE(clock.waits().size(), 1U)
        << "hint: cancelled timers do not count as something to wait for. waits: "
        << describe(clock.waits());
}

TEST(MiniLoopReady, ACancelledCallbackDoesNotRun) {
    ManualClock clock;
    Loop loop(clock);
    Log log;
    Future<bool> f;
    Handle h = loop.call_soon([&] { log.emplace_back("cancelled one"); });
    loop.call_soon([&] { f.set_result(true); });
    EXPECT_FALSE(h.cancelled());
    h.cancel();
    EXPECT_TRUE(h.cancelled());
    loop.run_until_complete(f);
    EXPECT_TRUE(log.empty()) << "hint: Handle::cancel() must keep the callback from running";
}

TEST(MiniLoopReady, CancelLetsGoOfTheCallbackAtOnce) {
    ManualClock clock;
    Loop loop(clock);
    auto token = std::make_shared<int>(7);
    Handle h = loop.call_soon([token] { static_cast<void>(token); });
    EXPECT_EQ(token.use_count(), 2);
    h.cancel();
    EXPECT_EQ(token.use_count(), 1)
        << "hint: cancel() should destroy the callback (and what it captured) now";
}

TEST(MiniLoopReady, ACallbackThatThrowsStopsTheRunAndTheRestRunsNextTime) {
    ManualClock clock;
    Loop loop(clock);
    Log log;
    loop.call_soon([&] { log.emplace_back("a"); });
    loop.call_soon([] { throw std::runtime_error("boom"); });
    loop.call_soon([&] { log.emplace_back("c"); });
    loop.call_soon([&] {
        log.emplace_back("d");
        loop.stop();
    });
    EXPECT_THROW(loop.run_forever(), std::runtime_error)
        << "hint: an exception from a callback propagates out of the run";
    EXPECT_EQ(log, (Log{"a"}));
    loop.run_forever();
    EXPECT_EQ(log, (Log{"a", "c", "d"}))
        << "hint: the callbacks after the one that threw stay queued, in order, and run next";
}

TEST(MiniLoopReady, ACallbackChainDoesNotStarveTimers) {
    ManualClock clock;
    Loop loop(clock);
    int links = 0;
    bool timer_ran = false;
    std::function<void()> link = [&] {
        ++links;
        clock.advance(1ms);  // each link "takes" 1 ms
        if (links > 1000) {
            loop.stop();
            return;
        }
        loop.call_soon(link);
    };
    loop.call_soon(link);
    loop.call_later(10ms, [&] {
        timer_ran = true;
        loop.stop();
    });
    loop.run_forever();
    EXPECT_TRUE(timer_ran) << "hint: a callback that keeps rescheduling itself must not starve a "
                              "due timer: the loop checks the timers every iteration";
    EXPECT_LE(links, 12) << "hint: the 10 ms timer is due after about 10 links of 1 ms";
}

// --- timers ----------------------------------------------------------------------------------

TEST(MiniLoopTimers, TimersRunInDeadlineOrderAndTheLoopWaitsForEach) {
    ManualClock clock;
    Loop loop(clock);
    const TimePoint start = clock.now();
    Log log;
    Future<bool> f;
    loop.call_later(30ms, [&] {
        log.emplace_back("30");
        f.set_result(true);
    });
    loop.call_later(10ms, [&] { log.emplace_back("10"); });
    loop.call_later(20ms, [&] { log.emplace_back("20"); });
    loop.run_until_complete(f);
    EXPECT_EQ(log, (Log{"10", "20", "30"})) << "hint: the earliest deadline first (a min-heap)";
    EXPECT_EQ(clock.now() - start, 30ms);
    EXPECT_EQ(clock.waits(), (std::vector{ms(10), ms(10), ms(10)}))
        << "hint: with nothing ready, the loop waits exactly until the next deadline. waits: "
        << describe(clock.waits());
}

TEST(MiniLoopTimers, EqualDeadlinesRunInTheOrderTheyWereScheduled) {
    ManualClock clock;
    Loop loop(clock);
    std::vector<int> order;
    Future<bool> f;
    const TimePoint when = clock.now() + 5ms;
    for (int i = 0; i < 40; ++i) {
        loop.call_at(when, [&order, i] { order.push_back(i); });
        // Earlier and later deadlines in between, so that the heap really reorders its entries.
        loop.call_at(when - Duration(1ms) * (i % 3 + 1), [] {});
        loop.call_at(when + Duration(1ms) * (i % 4 + 1), [] {});
    }
    loop.call_at(when + 10ms, [&] { f.set_result(true); });
    loop.run_until_complete(f);
    std::vector<int> expected;
    expected.reserve(40);
    for (int i = 0; i < 40; ++i) {
        expected.push_back(i);
    }
    EXPECT_EQ(order, expected) << "hint: a heap alone does not keep insertion order; break ties "
                                  "with a sequence number given to each timer";
}

TEST(MiniLoopTimers, TheWaitIsZeroWhileACallbackIsReady) {
    ManualClock clock;
    Loop loop(clock);
    Future<bool> f;
    loop.call_later(50ms, [&] { f.set_result(true); });
    loop.call_soon([] {});
    loop.run_until_complete(f);
    EXPECT_EQ(clock.waits(), (std::vector{ms(0), ms(50)}))
        << "hint: wait 0 when a callback is ready, then until the timer. waits: "
        << describe(clock.waits());
}

TEST(MiniLoopTimers, TheWaitCountsFromNowNotFromWhenTheTimerWasSet) {
    ManualClock clock;
    Loop loop(clock);
    Future<bool> f;
    loop.call_later(50ms, [&] { f.set_result(true); });
    clock.advance(20ms);
    loop.run_until_complete(f);
    EXPECT_EQ(clock.waits(), (std::vector{ms(30)}))
        << "hint: the timeout is deadline - clock().now(), read when the iteration begins. waits: "
        << describe(clock.waits());
}

TEST(MiniLoopTimers, ACancelledTimerNeitherRunsNorShortensTheWait) {
    ManualClock clock;
    Loop loop(clock);
    Log log;
    Future<bool> f;
    Handle early = loop.call_later(10ms, [&] { log.emplace_back("cancelled timer"); });
    loop.call_later(50ms, [&] { f.set_result(true); });
    early.cancel();
    loop.run_until_complete(f);
    EXPECT_TRUE(log.empty()) << "hint: a cancelled timer must not run";
    EXPECT_EQ(clock.waits(), (std::vector{ms(50)}))
        << "hint: drop cancelled timers from the top of the heap before computing the timeout. "
           "waits: "
        << describe(clock.waits());
}

TEST(MiniLoopTimers, APastOrZeroDeadlineIsDueInTheFirstIteration) {
    ManualClock clock(TimePoint{} + 1s);
    Loop loop(clock);
    Log log;
    Future<bool> f;
    loop.call_later(-5ms, [&] { log.emplace_back("negative"); });
    loop.call_at(clock.now() - 100ms, [&] { log.emplace_back("past"); });
    loop.call_later(0ms, [&] {
        log.emplace_back("zero");
        f.set_result(true);
    });
    loop.run_until_complete(f);
    EXPECT_EQ(log, (Log{"past", "negative", "zero"}))
        << "hint: a negative delay counts as 0; earlier deadlines first";
    EXPECT_EQ(clock.waits(), (std::vector{ms(0)})) << "waits: " << describe(clock.waits());
}

TEST(MiniLoopTimers, ATimerSetForNowByACallbackRunsInTheNextIteration) {
    ManualClock clock;
    Loop loop(clock);
    Log log;
    loop.call_soon([&] {
        loop.call_later(0ms, [&] { log.emplace_back("timer"); });
        loop.stop();
    });
    loop.run_forever();
    EXPECT_TRUE(log.empty()) << "hint: due timers are collected before the run phase, not during";
    loop.call_soon([&] { loop.stop(); });
    loop.run_forever();
    EXPECT_EQ(log, (Log{"timer"}));
}

// --- readers ---------------------------------------------------------------------------------

TEST(MiniLoopReaders, AReaderGetsWhatTheTestWroteToAPipe) {
    ManualClock clock;
    Loop loop(clock);
    Pipe pipe;
    pipe.write("hello");
    Future<std::string> f;
    loop.add_reader(pipe.read_fd(), [&] {
        loop.remove_reader(pipe.read_fd());
        f.set_result(drain(pipe.read_fd()).bytes);
    });
    EXPECT_EQ(loop.run_until_complete(f), "hello");
    EXPECT_EQ(clock.waits(), (std::vector{forever()}))
        << "hint: with only readers (no timer, nothing ready) the loop waits with no deadline. "
           "waits: "
        << describe(clock.waits());
}

TEST(MiniLoopReaders, AReaderWakesUpForDataWrittenByATimer) {
    ManualClock clock;
    Loop loop(clock);
    Pipe pipe;
    Future<std::string> f;
    loop.add_reader(pipe.read_fd(), [&] {
        loop.remove_reader(pipe.read_fd());
        f.set_result(drain(pipe.read_fd()).bytes);
    });
    loop.call_later(10ms, [&] { pipe.write("tick"); });
    EXPECT_EQ(loop.run_until_complete(f), "tick");
    EXPECT_EQ(clock.waits(), (std::vector{ms(10), forever()}))
        << "hint: wait until the timer, then (no timer left) for the reader. waits: "
        << describe(clock.waits());
}

TEST(MiniLoopReaders, AReaderRemovedInItsOwnCallbackIsNotCalledAgain) {
    ManualClock clock;
    Loop loop(clock);
    Pipe pipe;
    pipe.write("abc");
    int calls = 0;
    loop.add_reader(pipe.read_fd(), [&] {
        ++calls;
        std::array<char, 1> one{};
        EXPECT_EQ(::read(pipe.read_fd(), one.data(), 1), 1);  // leaves "bc" in the pipe
        EXPECT_TRUE(loop.remove_reader(pipe.read_fd()));
    });
    loop.call_later(10ms, [&] { loop.stop(); });
    loop.run_forever();
    EXPECT_EQ(calls, 1) << "hint: the descriptor is still readable, but its reader is gone";
    EXPECT_FALSE(loop.remove_reader(pipe.read_fd())) << "hint: nothing left to remove";
}

TEST(MiniLoopReaders, AReaderRemovedByAnEarlierCallbackOfTheSameIterationIsNotCalled) {
    ManualClock clock;
    Loop loop(clock);
    Pipe a;
    Pipe b;
    a.write("a");
    b.write("b");
    Log log;
    // Both descriptors are ready in the same iteration; whichever reader runs first removes both.
    auto reader = [&](const char* name) {
        return [&, name] {
            log.emplace_back(name);
            loop.remove_reader(a.read_fd());
            loop.remove_reader(b.read_fd());
            loop.stop();
        };
    };
    loop.add_reader(a.read_fd(), reader("a"));
    loop.add_reader(b.read_fd(), reader("b"));
    loop.run_forever();
    EXPECT_EQ(log.size(), 1U) << "hint: a reader removed before its turn must not run, even if "
                                 "poll reported its descriptor ready in this iteration";
}

TEST(MiniLoopReaders, AClosedWriteEndWakesTheReader) {
    ManualClock clock;
    Loop loop(clock);
    Pipe pipe;
    pipe.close_write();  // poll reports POLLHUP (and no POLLIN: there is no data)
    Future<bool> f;
    loop.add_reader(pipe.read_fd(), [&] {
        const bool eof = drain(pipe.read_fd()).eof;
        loop.remove_reader(pipe.read_fd());
        f.set_result(eof);
    });
    EXPECT_TRUE(loop.run_until_complete(f))
        << "hint: POLLHUP makes a reader ready too; its read() then returns 0 (end of file)";
}

TEST(MiniLoopReaders, AddReaderReplacesThePreviousReader) {
    ManualClock clock;
    Loop loop(clock);
    Pipe pipe;
    pipe.write("x");
    Log log;
    loop.add_reader(pipe.read_fd(), [&] { log.emplace_back("old"); });
    loop.add_reader(pipe.read_fd(), [&] {
        log.emplace_back("new");
        drain(pipe.read_fd());
        loop.remove_reader(pipe.read_fd());
        loop.stop();
    });
    loop.run_forever();
    EXPECT_EQ(log, (Log{"new"})) << "hint: one reader per descriptor; add_reader replaces it";
}

TEST(MiniLoopReaders, BadArgumentsAreRejected) {
    ManualClock clock;
    Loop loop(clock);
    EXPECT_THROW(loop.add_reader(-1, [] {}), std::invalid_argument);
    EXPECT_THROW(loop.add_reader(0, Callback{}), std::invalid_argument);
    EXPECT_THROW(loop.call_soon(Callback{}), std::invalid_argument);
    EXPECT_THROW(loop.call_later(1ms, Callback{}), std::invalid_argument);
}

}  // namespace
}  // namespace lesson7::mini
