// Hidden tests of lesson 7.3, tasks 2 and 3 (graded by your instructor): loop-lag, edge cases of
// cancellation, gather, as_completed and wait_for, the leak report, Semaphore and Queue under
// churn.
#include <gtest/gtest.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../public/aio_test_support.hpp"
#include "lesson7/aio.hpp"
#include "lesson7/aio_sync.hpp"

namespace lesson7::aio {
namespace {

using namespace std::chrono_literals;
using test_support::active_handles;
using test_support::after;
using test_support::run_collecting;
using Log = std::vector<std::string>;

// A coroutine (it has a co_return) that throws when it first runs, not when it is called.
Task<int> throws_when_run(std::string what) {
    if (!what.empty()) {
        throw std::runtime_error(what);
    }
    co_return 0;
}

Task<void> nap_then_log(Log* log, std::chrono::milliseconds d, std::string what) {
    co_await sleep(d);
    log->push_back(std::move(what));
}

Task<void> probe(Log* log) {
    co_await sleep(0ms);
    log->push_back("probe ran");
}

// The loop-lag probe: while one task waits 30 ms, a probe that only needs the next loop iteration
// must run first. A blocking wait (std::this_thread::sleep_for in a coroutine or a callback)
// stalls the whole loop, and the probe comes last.
TEST(AioTaskHidden, LoopKeepsRunningWhileATaskSleeps) {
    Log log;
    auto main = [](Log* out) -> Task<void> {
        co_await gather(nap_then_log(out, 30ms, "sleeper woke"), probe(out));
    };
    run(main(&log));
    EXPECT_EQ(log, (Log{"probe ran", "sleeper woke"}))
        << "hint: sleep must not block the thread: it parks the task on a uv_timer_t and "
           "returns to the loop, which runs the other tasks meanwhile";
}

TEST(AioTaskHidden, EqualDeadlinesWakeInTheOrderTheyWereSet) {
    Log log;
    auto main = [](Log* out) -> Task<void> {
        co_await gather(nap_then_log(out, 1ms, "a"), nap_then_log(out, 1ms, "b"),
                        nap_then_log(out, 1ms, "c"));
    };
    run(main(&log));
    EXPECT_EQ(log, (Log{"a", "b", "c"}));
}

Task<std::unique_ptr<int>> boxed(int v) {
    co_await sleep(0ms);
    co_return std::make_unique<int>(v);
}

TEST(AioTaskHidden, MoveOnlyResultsTravel) {
    auto main = []() -> Task<int> {
        auto h = create_task(boxed(3));
        auto direct = co_await boxed(4);
        auto via_handle = co_await std::move(h);
        co_return *direct + *via_handle;
    };
    EXPECT_EQ(run(main()), 7);
}

TEST(AioTaskHidden, NestedRunIsRefused) {
    auto main = []() -> Task<bool> {
        auto inner = []() -> Task<int> { co_return 1; };
        try {
            static_cast<void>(run(inner()));
        } catch (const std::logic_error&) {
            co_return true;
        }
        co_return false;
    };
    EXPECT_TRUE(run(main())) << "hint: one run() per thread at a time";
}

TEST(AioTaskHidden, MainThatCanNeverBeWokenIsAnErrorNotAHang) {
    auto main = []() -> Task<int> {
        Completion<int> never;
        co_return co_await never.wait();
    };
    EXPECT_THROW(static_cast<void>(run(main())), std::logic_error)
        << "hint: when uv_run returns with main still parked and nothing left to run, say so";
}

TEST(AioTaskHidden, LeakReportCarriesTheLostException) {
    auto main = []() -> Task<void> {
        auto t = create_task(throws_when_run("lost one"));
        co_await sleep(0ms);
        co_await sleep(0ms);
    };
    const auto leaks = run_collecting(main());
    ASSERT_EQ(leaks.size(), 1U);
    EXPECT_EQ(leaks[0].kind, Leak::Kind::task_never_awaited);
    EXPECT_NE(leaks[0].message.find("lost one"), std::string::npos)
        << "hint: like asyncio's 'Task exception was never retrieved', name the exception: "
        << leaks[0].message;
}

TEST(AioTaskHidden, UntrackedOpenHandleIsReportedToo) {
    static uv_idle_t idle;
    auto main = []() -> Task<void> {
        uv_idle_init(&current_loop(), &idle);
        co_return;
    };
    const auto leaks = run_collecting(main());
    ASSERT_EQ(leaks.size(), 1U) << "hint: uv_walk finds handles nobody told you about";
    EXPECT_EQ(leaks[0].kind, Leak::Kind::handle_never_closed);
    EXPECT_NE(leaks[0].message.find("idle"), std::string::npos) << leaks[0].message;
}

TEST(AioTaskHidden, ResultOfADoneHandle) {
    auto main = []() -> Task<int> {
        auto h = create_task([]() -> Task<int> { co_return 11; }());
        EXPECT_THROW(static_cast<void>(h.result()), std::logic_error)
            << "hint: result() before the task is done is a logic error";
        co_await sleep(0ms);
        co_return h.done() ? h.result() : -1;
    };
    EXPECT_EQ(run(main()), 11);
}

TEST(AioGatherHidden, GatherOfNothingIsEmpty) {
    auto main = []() -> Task<std::size_t> {
        co_return (co_await gather(std::vector<Task<int>>{})).size();
    };
    EXPECT_EQ(run(main()), 0U);
}

TEST(AioGatherHidden, AsCompletedStartsWithTasksAlreadyDone) {
    auto main = []() -> Task<std::vector<int>> {
        std::vector<TaskHandle<int>> hs;
        hs.push_back(create_task(after(2ms, 2)));
        hs.push_back(create_task([]() -> Task<int> { co_return 1; }()));
        co_await sleep(0ms);  // the second is done now
        auto order = as_completed(std::move(hs));
        std::vector<int> got;
        while (order.remaining() > 0) {
            got.push_back(co_await order.next());
        }
        co_return got;
    };
    EXPECT_EQ(run(main()), (std::vector<int>{1, 2}));
}

TEST(AioGatherHidden, CancellingGatherCancelsItsChildren) {
    int cancelled = 0;
    auto child = [](int* count) -> Task<int> {
        try {
            co_await sleep(1h);
        } catch (const CancelledError&) {
            ++*count;
            throw;
        }
        co_return 0;
    };
    auto main = [](int* count, decltype(child) c) -> Task<int> {
        std::vector<Task<int>> ts;
        ts.push_back(c(count));
        ts.push_back(c(count));
        auto g = create_task(gather(std::move(ts)));
        co_await sleep(0ms);
        co_await sleep(0ms);
        g.cancel();
        try {
            co_await std::move(g);
        } catch (const CancelledError&) {
        }
        co_return active_handles();
    };
    EXPECT_EQ(run(main(&cancelled, child)), 0);
    EXPECT_EQ(cancelled, 2) << "hint: a cancelled gather cancels every child and waits for them";
}

TEST(AioGatherHidden, WaitForCancelledFromOutsideCancelsTheTask) {
    bool inner_cancelled = false;
    auto inner = [](bool* flag) -> Task<int> {
        try {
            co_await sleep(1h);
        } catch (const CancelledError&) {
            *flag = true;
            throw;
        }
        co_return 0;
    };
    auto main = [](bool* flag, decltype(inner) f) -> Task<int> {
        auto w = create_task(wait_for(f(flag), 1h));
        co_await sleep(0ms);
        co_await sleep(0ms);
        w.cancel();
        try {
            co_await std::move(w);
        } catch (const CancelledError&) {
        }
        co_return active_handles();
    };
    EXPECT_EQ(run(main(&inner_cancelled, inner)), 0) << "hint: both timers closed";
    EXPECT_TRUE(inner_cancelled);
}

TEST(AioGatherHidden, WaitForPassesTheTasksExceptionThrough) {
    auto main = []() -> Task<std::string> {
        try {
            co_await wait_for(throws_when_run("inner"), 1h);
        } catch (const TimeoutError&) {
            co_return "timeout";
        } catch (const std::runtime_error& e) {
            co_return e.what();
        }
        co_return "nothing";
    };
    EXPECT_EQ(run(main()), "inner");
}

Task<void> long_sleeper() {
    co_await sleep(1h);
}

TEST(AioCancelHidden, HundredCancelledSleepersLeaveNoTimerRunning) {
    auto main = []() -> Task<int> {
        std::vector<TaskHandle<void>> hs;
        hs.reserve(100);
        for (int i = 0; i < 100; ++i) {
            hs.push_back(create_task(long_sleeper()));
        }
        co_await sleep(0ms);
        const int while_sleeping = active_handles();
        for (auto& h : hs) {
            h.cancel();
        }
        for (auto& h : hs) {
            try {
                co_await std::move(h);
            } catch (const CancelledError&) {
            }
        }
        co_return while_sleeping * 1000 + active_handles();
    };
    const int got = run(main());
    EXPECT_EQ(got / 1000, 100) << "hint: each sleeper has its own timer";
    EXPECT_EQ(got % 1000, 0) << "hint: a cancelled sleep stops and closes its timer";
}

TEST(AioCancelHidden, ATaskMayCatchTheCancellationAndFinish) {
    auto main = []() -> Task<std::pair<int, bool>> {
        auto stubborn = []() -> Task<int> {
            try {
                co_await sleep(1h);
            } catch (const CancelledError&) {
            }
            co_await sleep(0ms);  // the cancellation was consumed: this wait is not cancelled
            co_return 5;
        };
        auto h = create_task(stubborn());
        co_await sleep(0ms);
        h.cancel();
        const int v = co_await h;
        co_return std::pair{v, h.cancelled()};
    };
    const auto [v, cancelled] = run(main());
    EXPECT_EQ(v, 5);
    EXPECT_FALSE(cancelled) << "hint: cancelled() means the task ended with CancelledError";
}

TEST(AioCancelHidden, CancelWhileRunningHitsTheNextSuspension) {
    auto main = []() -> Task<std::string> {
        Log log;
        TaskHandle<void> self;
        auto body = [](Log* out, TaskHandle<void>* me) -> Task<void> {
            me->cancel();  // cancels itself while running
            out->push_back("still running");
            co_await sleep(0ms);
            out->push_back("after the suspension");
        };
        self = create_task(body(&log, &self));
        try {
            co_await std::move(self);
        } catch (const CancelledError&) {
            log.push_back("cancelled");
        }
        std::string all;
        for (const auto& s : log) {
            all += s + ";";
        }
        co_return all;
    };
    EXPECT_EQ(run(main()), "still running;cancelled;")
        << "hint: cancel() of a running task is kept pending and thrown at its next park()";
}

TEST(AioCancelHidden, CompletionCarriesAnException) {
    auto main = []() -> Task<std::string> {
        Completion<void> c;
        auto waiter = create_task(c.wait());
        co_await sleep(0ms);
        c.set_exception(std::make_exception_ptr(std::runtime_error("from the callback")));
        try {
            co_await std::move(waiter);
        } catch (const std::runtime_error& e) {
            co_return e.what();
        }
        co_return "nothing";
    };
    EXPECT_EQ(run(main()), "from the callback");
}

TEST(AioCancelHidden, CompletionAlreadySetDoesNotWait) {
    auto main = []() -> Task<int> {
        Completion<int> c;
        c.set_value(8);
        EXPECT_THROW(c.set_value(9), std::logic_error) << "hint: one-shot";
        co_return co_await c.wait();
    };
    EXPECT_EQ(run(main()), 8);
}

struct Gauge {
    int inside = 0;
    int max_inside = 0;
};

Task<void> churn(Semaphore* sem, Gauge* g, int rounds) {
    for (int i = 0; i < rounds; ++i) {
        auto permit = co_await sem->acquire();
        ++g->inside;
        g->max_inside = std::max(g->max_inside, g->inside);
        co_await sleep(0ms);
        --g->inside;
    }
}

TEST(AioSemaphoreHidden, NeverOverAdmitsUnderChurn) {
    Gauge g;
    auto main = [](Gauge* gauge) -> Task<std::size_t> {
        Semaphore sem(2);
        std::vector<Task<void>> ts;
        ts.reserve(8);
        for (int i = 0; i < 8; ++i) {
            ts.push_back(churn(&sem, gauge, 20));
        }
        co_await gather(std::move(ts));
        co_return sem.available();
    };
    EXPECT_EQ(run(main(&g)), 2U) << "hint: the count ends where it started";
    EXPECT_EQ(g.max_inside, 2) << "hint: a released permit goes to one waiter OR the count";
}

Task<void> acquire_log(Semaphore* sem, std::vector<int>* order, int id) {
    auto permit = co_await sem->acquire();
    order->push_back(id);
}

TEST(AioSemaphoreHidden, CancellingAMiddleWaiterKeepsTheOthersInOrder) {
    auto main = []() -> Task<std::vector<int>> {
        Semaphore sem(1);
        std::vector<int> order;
        auto held = co_await sem.acquire();
        std::vector<TaskHandle<void>> hs;
        hs.reserve(5);
        for (int i = 0; i < 5; ++i) {
            hs.push_back(create_task(acquire_log(&sem, &order, i)));
        }
        co_await sleep(0ms);
        hs[2].cancel();
        hs[0].cancel();
        held.release();
        for (auto& h : hs) {
            try {
                co_await std::move(h);
            } catch (const CancelledError&) {
            }
        }
        EXPECT_EQ(sem.available(), 1U);
        co_return order;
    };
    EXPECT_EQ(run(main()), (std::vector<int>{1, 3, 4}));
}

TEST(AioSemaphoreHidden, MovedPermitReleasesOnce) {
    auto main = []() -> Task<std::size_t> {
        Semaphore sem(1);
        {
            auto a = co_await sem.acquire();
            Semaphore::Permit b = std::move(a);
            EXPECT_FALSE(a.held());  // NOLINT(bugprone-use-after-move): checking the moved-from
            EXPECT_TRUE(b.held());
            b.release();
            b.release();
        }
        co_return sem.available();
    };
    EXPECT_EQ(run(main()), 1U);
}

Task<void> produce(Queue<int>* q, int from, int count) {
    for (int i = 0; i < count; ++i) {
        co_await q->put(from + i);
    }
}

TEST(AioQueueHidden, ManyProducersNeverOverfillAndLoseNothing) {
    auto main = []() -> Task<std::pair<long, std::size_t>> {
        Queue<int> q(3);
        std::vector<Task<void>> producers;
        producers.reserve(4);
        for (int p = 0; p < 4; ++p) {
            producers.push_back(produce(&q, p * 1000, 50));
        }
        auto all = create_task(gather(std::move(producers)));
        long sum = 0;
        std::size_t max_size = 0;
        for (int i = 0; i < 200; ++i) {
            max_size = std::max(max_size, q.size());
            sum += (co_await q.get()).value_or(-100000);
            if (i % 3 == 0) {
                co_await sleep(0ms);
            }
        }
        co_await std::move(all);
        co_return std::pair{sum, max_size};
    };
    const auto [sum, max_size] = run(main());
    long want = 0;
    for (int p = 0; p < 4; ++p) {
        for (int i = 0; i < 50; ++i) {
            want += p * 1000 + i;
        }
    }
    EXPECT_EQ(sum, want) << "hint: every item exactly once";
    EXPECT_LE(max_size, 3U) << "hint: the count of kept slots must be right after every wake-up";
}

TEST(AioQueueHidden, UnboundedPutNeverWaits) {
    auto main = []() -> Task<std::size_t> {
        Queue<int> q;
        for (int i = 0; i < 1000; ++i) {
            co_await q.put(i);
        }
        co_return q.size();
    };
    EXPECT_EQ(run(main()), 1000U);
}

TEST(AioQueueHidden, CloseWakesWaitingPuttersWithQueueClosed) {
    auto main = []() -> Task<int> {
        Queue<int> q(1);
        co_await q.put(1);
        auto blocked = create_task(q.put(2));
        co_await sleep(0ms);
        q.close();
        int refused = 0;
        try {
            co_await std::move(blocked);
        } catch (const QueueClosed&) {
            ++refused;
        }
        const auto first = co_await q.get();
        const auto end = co_await q.get();
        co_return refused * 100 + (first == 1 ? 10 : 0) + (end.has_value() ? 0 : 1);
    };
    EXPECT_EQ(run(main()), 111) << "hint: close() refuses waiting putters, keeps queued items "
                                   "for the getters, then gives std::nullopt";
}

TEST(AioQueueHidden, MoveOnlyItems) {
    auto main = []() -> Task<int> {
        Queue<std::unique_ptr<int>> q(2);
        co_await q.put(std::make_unique<int>(6));
        auto v = co_await q.get();
        co_return v && *v ? **v : -1;
    };
    EXPECT_EQ(run(main()), 6);
}

}  // namespace
}  // namespace lesson7::aio
