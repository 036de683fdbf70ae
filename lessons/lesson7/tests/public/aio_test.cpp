// Public tests of lesson 7.3, task 2: coroutine tasks on libuv (Task, run, sleep, create_task,
// gather, as_completed, wait_for, cancellation, Completion, the leak report).
#include "lesson7/aio.hpp"

#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "aio_test_support.hpp"

namespace lesson7::aio {
namespace {

using namespace std::chrono_literals;
using test_support::active_handles;
using test_support::after;
using test_support::run_collecting;
using Log = std::vector<std::string>;

Task<int> answer() {
    co_return 42;
}
Task<void> nothing() {
    co_return;
}
Task<int> fails(std::string what) {
    co_await sleep(0ms);
    throw std::runtime_error(what);
}

TEST(AioTask, RunGivesMainsValue) {
    EXPECT_EQ(run(answer()), 42) << "hint: run() creates the loop, schedules main, runs the loop "
                                    "until main is done (detail::Runner), then returns its value";
}

TEST(AioTask, AwaitingATaskGivesItsValue) {
    auto main = []() -> Task<int> {
        const int a = co_await answer();
        const int b = co_await answer();
        co_return a + b;
    };
    EXPECT_EQ(run(main()), 84) << "hint: co_await on a Task starts it (start_awaited) and "
                                  "final_transfer resumes the awaiting coroutine";
}

TEST(AioTask, ExceptionReachesTheAwaiter) {
    auto main = []() -> Task<std::string> {
        try {
            co_await fails("boom");
        } catch (const std::runtime_error& e) {
            co_return e.what();
        }
        co_return "no exception";
    };
    EXPECT_EQ(run(main()), "boom") << "hint: the promise keeps the exception; await_resume "
                                      "rethrows it in the awaiting coroutine";
}

TEST(AioTask, ExceptionLeavesRun) {
    EXPECT_THROW(run(fails("out")), std::runtime_error)
        << "hint: run() rethrows what main threw, after shutting down";
}

Task<void> seed_a(Log* log) {
    log->push_back("A1");
    co_await sleep(2ms);
    log->push_back("A2");
}
Task<void> seed_b(Log* log) {
    log->push_back("B1");
    co_await sleep(1ms);
    log->push_back("B2");
}

TEST(AioTask, SeedInterleavingA1B1B2A2) {
    Log log;
    auto main = [](Log* out) -> Task<void> { co_await gather(seed_a(out), seed_b(out)); };
    run(main(&log));
    EXPECT_EQ(log, (Log{"A1", "B1", "B2", "A2"}))
        << "hint: seed 002: A starts, waits 2 ms; B starts, waits 1 ms; B finishes first. Both "
           "timers start in the same loop iteration, so their order is deterministic";
}

Task<void> record_after_zero(Log* log, std::string name) {
    co_await sleep(0ms);
    log->push_back(std::move(name));
}

TEST(AioTask, CreateTaskSchedulesAtOnceAndRunsWhenMainYields) {
    Log log;
    auto main = [](Log* out) -> Task<void> {
        auto t = create_task(record_after_zero(out, "child"));
        out->push_back("main before yield");
        co_await sleep(0ms);
        co_await sleep(0ms);
        out->push_back("main after yield");
        co_await std::move(t);
    };
    run(main(&log));
    EXPECT_EQ(log, (Log{"main before yield", "child", "main after yield"}))
        << "hint: create_task puts the task on the ready list at once; it runs when main "
           "suspends, not when main awaits it";
}

TEST(AioTask, SleepZeroLetsOtherReadyTasksRunFirst) {
    Log log;
    auto spin = [](Log* out, std::string name) -> Task<void> {
        for (int i = 0; i < 3; ++i) {
            out->push_back(name + std::to_string(i));
            co_await sleep(0ms);
        }
    };
    auto main = [](Log* out, decltype(spin) s) -> Task<void> {
        co_await gather(s(out, "x"), s(out, "y"));
    };
    run(main(&log, spin));
    EXPECT_EQ(log, (Log{"x0", "y0", "x1", "y1", "x2", "y2"}))
        << "hint: sleep(0) means the next loop iteration: the tasks take turns";
}

Task<int> ready_value(int v) {
    co_return v;
}

TEST(AioTask, MillionAwaitsOfFinishedTasksUseNoStack) {
    auto main = []() -> Task<long> {
        long sum = 0;
        for (int i = 0; i < 1'000'000; ++i) {
            sum += co_await ready_value(1);
        }
        co_return sum;
    };
    EXPECT_EQ(run(main()), 1'000'000)
        << "hint: a co_await of a Task must not resume() the child from inside the parent: "
           "let the step resume it (a trampoline); nested resume() calls grow the stack";
}

Task<long> chain(int depth) {
    if (depth == 0) {
        co_return 0;
    }
    co_return 1 + co_await chain(depth - 1);
}

TEST(AioTask, ChainOfAMillionNestedAwaitsUsesNoStack) {
    EXPECT_EQ(run(chain(1'000'000)), 1'000'000)
        << "hint: a chain of a million awaiting coroutines must unwind without recursion: "
           "final_transfer names the continuation for the step to resume";
}

TEST(AioTask, CurrentLoopOnlyInsideRun) {
    EXPECT_THROW(static_cast<void>(current_loop()), std::logic_error)
        << "hint: outside run() there is no loop: say so with std::logic_error";
    auto main = []() -> Task<bool> {
        uv_loop_t& loop = current_loop();
        co_await sleep(0ms);
        co_return &loop == &current_loop();
    };
    EXPECT_TRUE(run(main()));
    EXPECT_THROW(static_cast<void>(current_loop()), std::logic_error)
        << "hint: after run() returns, no run is in progress";
}

TEST(AioTask, CleanRunReportsNoLeak) {
    auto main = []() -> Task<void> {
        auto t = create_task(after(1ms, 1));
        EXPECT_EQ(co_await std::move(t), 1);
    };
    const auto leaks = run_collecting(main());
    EXPECT_TRUE(leaks.empty()) << "first leak: " << (leaks.empty() ? "" : leaks[0].message);
}

TEST(AioTask, LeakReportNamesATaskNeverAwaited) {
    auto main = []() -> Task<void> {
        static_cast<void>(create_task(answer()));  // made, never awaited
        co_await sleep(0ms);
    };
    const int line = __LINE__ - 3;
    const auto leaks = run_collecting(main());
    ASSERT_EQ(leaks.size(), 1U) << "hint: a created task whose result nobody took is reported "
                                   "once, through RunOptions::on_leak";
    EXPECT_EQ(leaks[0].kind, Leak::Kind::task_never_awaited);
    EXPECT_EQ(leaks[0].where.line(), static_cast<unsigned>(line))
        << "hint: where = create_task's caller (SourceLocation::current())";
    EXPECT_NE(leaks[0].message.find("aio_test.cpp"), std::string::npos)
        << "hint: the message names the file and line; got: " << leaks[0].message;
}

TEST(AioTask, LeakReportNamesATaskStillPendingAndCancelsIt) {
    bool cleaned_up = false;
    auto forever = [](bool* flag) -> Task<void> {
        try {
            co_await sleep(1h);
        } catch (const CancelledError&) {
            *flag = true;
            throw;
        }
    };
    auto main = [](bool* flag, decltype(forever) f) -> Task<void> {
        auto t = create_task(f(flag));
        t.discard();
        co_await sleep(0ms);
    };
    const auto leaks = run_collecting(main(&cleaned_up, forever));
    ASSERT_EQ(leaks.size(), 1U);
    EXPECT_EQ(leaks[0].kind, Leak::Kind::task_pending);
    EXPECT_TRUE(cleaned_up) << "hint: at shutdown, a pending task is cancelled and run until it "
                               "finishes, so its cleanup code runs";
}

TEST(AioTask, LeakReportNamesAHandleNeverClosedAndRunClosesIt) {
    static uv_timer_t timer;  // outlives run(): run() may close it but must not free it
    auto main = []() -> Task<void> {
        uv_timer_init(&current_loop(), &timer);
        track_handle(reinterpret_cast<uv_handle_t*>(&timer));
        co_return;
    };
    const int line = __LINE__ - 3;
    const auto leaks = run_collecting(main());
    ASSERT_EQ(leaks.size(), 1U) << "hint: at shutdown, uv_walk finds every handle still open";
    EXPECT_EQ(leaks[0].kind, Leak::Kind::handle_never_closed);
    EXPECT_EQ(leaks[0].where.line(), static_cast<unsigned>(line));
    EXPECT_NE(leaks[0].message.find("timer"), std::string::npos) << leaks[0].message;
}

TEST(AioGather, ResultsComeInInputOrder) {
    auto main = []() -> Task<std::vector<int>> {
        std::vector<Task<int>> ts;
        ts.push_back(after(3ms, 1));
        ts.push_back(after(1ms, 2));
        ts.push_back(after(2ms, 3));
        co_return co_await gather(std::move(ts));
    };
    EXPECT_EQ(run(main()), (std::vector<int>{1, 2, 3}))
        << "hint: gather returns results in input order, whatever the completion order";
}

TEST(AioGather, VariadicGatherGivesATuple) {
    auto main = []() -> Task<bool> {
        auto [a, v, b] = co_await gather(after(1ms, 7), nothing(), answer());
        static_cast<void>(v);
        co_return a == 7 && b == 42;
    };
    EXPECT_TRUE(run(main()));
}

TEST(AioGather, FirstFailureCancelsTheOthersAndIsRethrown) {
    bool slow_cancelled = false;
    auto slow = [](bool* flag) -> Task<int> {
        try {
            co_await sleep(1h);
        } catch (const CancelledError&) {
            *flag = true;
            throw;
        }
        co_return 0;
    };
    auto main = [](bool* flag, decltype(slow) s) -> Task<std::string> {
        std::vector<Task<int>> ts;
        ts.push_back(s(flag));
        ts.push_back(fails("first"));
        try {
            co_await gather(std::move(ts));
        } catch (const std::runtime_error& e) {
            co_return e.what();
        }
        co_return "nothing thrown";
    };
    EXPECT_EQ(run(main(&slow_cancelled, slow)), "first");
    EXPECT_TRUE(slow_cancelled) << "hint: gather is fail-fast: the first failure cancels the "
                                   "others, and gather waits for them before rethrowing";
}

TEST(AioGather, AsCompletedGivesCompletionOrder) {
    auto main = []() -> Task<std::vector<int>> {
        std::vector<Task<int>> ts;
        ts.push_back(after(3ms, 30));
        ts.push_back(after(1ms, 10));
        ts.push_back(after(2ms, 20));
        auto order = as_completed(std::move(ts));
        std::vector<int> got;
        while (order.remaining() > 0) {
            got.push_back(co_await order.next());
        }
        co_return got;
    };
    EXPECT_EQ(run(main()), (std::vector<int>{10, 20, 30}))
        << "hint: CompletionOrder listens for each task's end (DoneListener), no polling";
}

TEST(AioGather, WaitForGivesTheValueInTime) {
    auto main = []() -> Task<int> { co_return co_await wait_for(after(1ms, 5), 10s); };
    EXPECT_EQ(run(main()), 5);
}

TEST(AioGather, WaitForTimesOutAndCancelsTheTask) {
    bool cancelled = false;
    auto slow = [](bool* flag) -> Task<int> {
        try {
            co_await sleep(1h);
        } catch (const CancelledError&) {
            *flag = true;
            throw;
        }
        co_return 0;
    };
    auto main = [](bool* flag, decltype(slow) s) -> Task<int> {
        try {
            co_await wait_for(s(flag), 1ms);
        } catch (const TimeoutError&) {
            co_return active_handles();
        }
        co_return -1;
    };
    EXPECT_EQ(run(main(&cancelled, slow)), 0)
        << "hint: TimeoutError, with every timer stopped (the task's and wait_for's own)";
    EXPECT_TRUE(cancelled) << "hint: on timeout, wait_for cancels the task and waits for it";
}

Task<void> sleeper(bool* reached_end) {
    co_await sleep(1h);
    *reached_end = true;
}

TEST(AioCancel, CancelThrowsAtTheSuspensionPointAndStopsTheTimer) {
    bool reached_end = false;
    auto main = [](bool* end) -> Task<int> {
        auto t = create_task(sleeper(end));
        co_await sleep(0ms);  // let it start and park in sleep(1h)
        EXPECT_TRUE(t.cancel());
        try {
            co_await std::move(t);
        } catch (const CancelledError&) {
            co_return active_handles();
        }
        co_return -1;
    };
    EXPECT_EQ(run(main(&reached_end)), 0)
        << "hint: the sleeping task wakes at once with CancelledError and its timer is stopped "
           "and closed (no active handle left)";
    EXPECT_FALSE(reached_end) << "hint: the code after the cancelled co_await must not run";
}

TEST(AioCancel, CancelledTaskReportsCancelled) {
    auto main = []() -> Task<bool> {
        bool end = false;
        auto t = create_task(sleeper(&end));
        co_await sleep(0ms);
        t.cancel();
        try {
            co_await t;
        } catch (const CancelledError&) {
        }
        co_return t.done() && t.cancelled() && !t.cancel();
    };
    EXPECT_TRUE(run(main())) << "hint: done() and cancelled() are true; a second cancel() "
                                "returns false";
}

TEST(AioCancel, TaskCancelledBeforeItStartsNeverRuns) {
    bool ran = false;
    auto body = [](bool* flag) -> Task<void> {
        *flag = true;
        co_return;
    };
    auto main = [](bool* flag, decltype(body) b) -> Task<bool> {
        auto t = create_task(b(flag));
        t.cancel();  // still on the ready list
        try {
            co_await std::move(t);
        } catch (const CancelledError&) {
            co_return true;
        }
        co_return false;
    };
    EXPECT_TRUE(run(main(&ran, body)));
    EXPECT_FALSE(ran) << "hint: like asyncio, a task cancelled before its first step never runs";
}

TEST(AioCancel, CompletionDeliversAValueFromACallback) {
    struct Op {
        uv_timer_t timer{};
        Completion<int> done;
    };
    auto main = []() -> Task<int> {
        Op op;
        uv_timer_init(&current_loop(), &op.timer);
        op.timer.data = &op;
        uv_timer_start(
            &op.timer,
            [](uv_timer_t* t) {
                static_cast<Op*>(t->data)->done.set_value(99);
                uv_close(reinterpret_cast<uv_handle_t*>(t), nullptr);
            },
            1, 0);
        const int v = co_await op.done.wait();
        co_await sleep(0ms);  // the close callback runs before op goes away
        co_return v;
    };
    EXPECT_EQ(run(main()), 99) << "hint: set_value from a libuv callback wakes the waiting task";
}

TEST(AioCancel, CompletionRunsOnCancelSoTheProducerCanAbort) {
    auto main = []() -> Task<std::pair<bool, bool>> {
        Completion<int> c;
        bool aborted = false;
        auto waiter = [](Completion<int>* cp, bool* ab) -> Task<int> {
            co_return co_await cp->wait([ab] { *ab = true; });
        };
        auto t = create_task(waiter(&c, &aborted));
        co_await sleep(0ms);
        t.cancel();
        bool threw = false;
        try {
            co_await std::move(t);
        } catch (const CancelledError&) {
            threw = true;
        }
        co_return std::pair{aborted, threw};
    };
    const auto [aborted, threw] = run(main());
    EXPECT_TRUE(aborted) << "hint: cancelling a task that waits on a Completion runs on_cancel";
    EXPECT_TRUE(threw) << "hint: then the co_await throws CancelledError";
}

}  // namespace
}  // namespace lesson7::aio
