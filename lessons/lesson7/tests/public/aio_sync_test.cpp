// Public tests of lesson 7.3, task 3: the async Semaphore (limit, FIFO, RAII permits,
// cancellation) and Queue (bounded put, get, the end signal, cancellation).
#include "lesson7/aio_sync.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "lesson7/aio.hpp"

namespace lesson7::aio {
namespace {

using namespace std::chrono_literals;

struct Gauge {
    int inside = 0;
    int max_inside = 0;
    int finished = 0;
};

Task<void> limited_worker(Semaphore* sem, Gauge* g) {
    auto permit = co_await sem->acquire();
    ++g->inside;
    g->max_inside = std::max(g->max_inside, g->inside);
    co_await sleep(1ms);
    --g->inside;
    ++g->finished;
}

TEST(AioSemaphore, AtMostNTasksInside) {
    Gauge g;
    auto main = [](Gauge* gauge) -> Task<std::size_t> {
        Semaphore sem(3);
        std::vector<Task<void>> ts;
        for (int i = 0; i < 10; ++i) {
            ts.push_back(limited_worker(&sem, gauge));
        }
        co_await gather(std::move(ts));
        co_return sem.available();
    };
    EXPECT_EQ(run(main(&g)), 3U) << "hint: every permit comes back when its Permit is destroyed";
    EXPECT_EQ(g.max_inside, 3) << "hint: Semaphore(3) lets at most 3 tasks hold a permit";
    EXPECT_EQ(g.finished, 10);
}

Task<void> log_acquire(Semaphore* sem, std::vector<int>* order, int id) {
    auto permit = co_await sem->acquire();
    order->push_back(id);
    co_await sleep(0ms);
}

TEST(AioSemaphore, WaitersGetPermitsInFifoOrder) {
    auto main = []() -> Task<std::vector<int>> {
        Semaphore sem(1);
        std::vector<int> order;
        auto held = co_await sem.acquire();
        std::vector<TaskHandle<void>> ts;
        for (int i = 0; i < 5; ++i) {
            ts.push_back(create_task(log_acquire(&sem, &order, i)));
        }
        co_await sleep(0ms);
        EXPECT_EQ(sem.waiting(), 5U) << "hint: all five wait while the only permit is held";
        held.release();
        co_await gather(std::move(ts));
        co_return order;
    };
    EXPECT_EQ(run(main()), (std::vector<int>{0, 1, 2, 3, 4}))
        << "hint: keep waiters in a FIFO (detail::WaitList)";
}

TEST(AioSemaphore, ReleaseHandsThePermitToTheFirstWaiterNotToANewcomer) {
    auto main = []() -> Task<std::vector<int>> {
        Semaphore sem(1);
        std::vector<int> order;
        auto held = co_await sem.acquire();
        auto waiter = create_task(log_acquire(&sem, &order, 1));
        co_await sleep(0ms);
        held.release();
        EXPECT_EQ(sem.available(), 0U) << "hint: with a waiter, release() hands the permit over "
                                          "instead of adding it to the free count";
        auto newcomer = create_task(log_acquire(&sem, &order, 2));
        co_await std::move(waiter);
        co_await std::move(newcomer);
        co_return order;
    };
    EXPECT_EQ(run(main()), (std::vector<int>{1, 2})) << "hint: no barging past a waiter";
}

TEST(AioSemaphore, CancelledWaiterLosesNoPermit) {
    auto main = []() -> Task<std::pair<std::vector<int>, std::size_t>> {
        Semaphore sem(1);
        std::vector<int> order;
        auto held = co_await sem.acquire();
        auto a = create_task(log_acquire(&sem, &order, 1));
        auto b = create_task(log_acquire(&sem, &order, 2));
        co_await sleep(0ms);
        a.cancel();
        EXPECT_EQ(sem.waiting(), 1U) << "hint: a cancelled waiter leaves the wait list at once";
        held.release();
        co_await std::move(b);
        try {
            co_await std::move(a);
        } catch (const CancelledError&) {
        }
        co_return std::pair{order, sem.available()};
    };
    const auto [order, available] = run(main());
    EXPECT_EQ(order, (std::vector<int>{2}));
    EXPECT_EQ(available, 1U) << "hint: the permit released after the cancel went to b and back";
}

TEST(AioSemaphore, PermitIsReleasedWhenAnExceptionLeavesTheScope) {
    auto main = []() -> Task<std::size_t> {
        Semaphore sem(2);
        auto thrower = [](Semaphore* s) -> Task<void> {
            auto permit = co_await s->acquire();
            throw std::runtime_error("inside");
        };
        try {
            co_await thrower(&sem);
        } catch (const std::runtime_error&) {
        }
        co_return sem.available();
    };
    EXPECT_EQ(run(main()), 2U) << "hint: Permit's destructor releases (RAII)";
}

Task<void> produce(Queue<int>* q, int from, int to, bool close_after) {
    for (int i = from; i < to; ++i) {
        co_await q->put(i);
    }
    if (close_after) {
        q->close();
    }
}

Task<std::vector<int>> consume_all(Queue<int>* q, std::size_t* max_size) {
    std::vector<int> got;
    while (auto v = co_await q->get()) {
        got.push_back(*v);
        *max_size = std::max(*max_size, q->size());
        co_await sleep(0ms);
    }
    co_return got;
}

TEST(AioQueue, ProducerConsumerWithEndSignal) {
    auto main = []() -> Task<std::pair<std::vector<int>, std::size_t>> {
        Queue<int> q(10);
        std::size_t max_size = 0;
        auto consumer = create_task(consume_all(&q, &max_size));
        co_await produce(&q, 0, 100, true);
        auto got = co_await std::move(consumer);
        co_return std::pair{std::move(got), max_size};
    };
    const auto [got, max_size] = run(main());
    std::vector<int> want(100);
    for (int i = 0; i < 100; ++i) {
        want[static_cast<std::size_t>(i)] = i;
    }
    EXPECT_EQ(got, want) << "hint: FIFO, every item once; get() gives std::nullopt after close() "
                            "and the last item, which ends the consumer's loop";
    EXPECT_LE(max_size, 10U) << "hint: put waits while the queue holds maxsize items";
}

TEST(AioQueue, PutWaitsWhileFull) {
    auto main = []() -> Task<bool> {
        Queue<int> q(2);
        co_await q.put(1);
        co_await q.put(2);
        auto third = create_task(q.put(3));
        co_await sleep(0ms);
        EXPECT_FALSE(third.done()) << "hint: the third put must wait: the queue is full";
        EXPECT_EQ(q.putters_waiting(), 1U);
        EXPECT_EQ(q.size(), 2U);
        const auto first = co_await q.get();
        co_await std::move(third);
        EXPECT_EQ(q.size(), 2U);
        const auto second = co_await q.get();
        const auto last = co_await q.get();
        co_return first == 1 && second == 2 && last == 3;
    };
    EXPECT_TRUE(run(main())) << "hint: a get frees a slot and wakes the first waiting putter";
}

TEST(AioQueue, GetWaitsWhileEmpty) {
    auto main = []() -> Task<int> {
        Queue<int> q(0);
        auto getter = create_task(q.get());
        co_await sleep(0ms);
        EXPECT_FALSE(getter.done()) << "hint: get on an empty queue waits";
        EXPECT_EQ(q.getters_waiting(), 1U);
        co_await q.put(7);
        const auto v = co_await std::move(getter);
        co_return v.value_or(-1);
    };
    EXPECT_EQ(run(main()), 7);
}

TEST(AioQueue, CancelledGetterLosesNoItem) {
    auto main = []() -> Task<std::pair<int, std::size_t>> {
        Queue<int> q(0);
        auto a = create_task(q.get());
        auto b = create_task(q.get());
        co_await sleep(0ms);
        a.cancel();
        EXPECT_EQ(q.getters_waiting(), 1U) << "hint: the cancelled getter leaves the wait list";
        co_await q.put(5);
        const auto v = co_await std::move(b);
        try {
            co_await std::move(a);
        } catch (const CancelledError&) {
        }
        co_return std::pair{v.value_or(-1), q.size()};
    };
    const auto [v, left] = run(main());
    EXPECT_EQ(v, 5) << "hint: the item goes to the getter still waiting";
    EXPECT_EQ(left, 0U);
}

TEST(AioQueue, CancelledPutterAddsNoItem) {
    auto main = []() -> Task<std::vector<int>> {
        Queue<int> q(2);
        co_await q.put(1);
        co_await q.put(2);
        auto blocked = create_task(q.put(9));
        co_await sleep(0ms);
        blocked.cancel();
        try {
            co_await std::move(blocked);
        } catch (const CancelledError&) {
        }
        std::vector<int> got;
        got.push_back((co_await q.get()).value_or(-1));
        co_await q.put(3);  // must not wait: the cancelled putter kept no slot
        q.close();
        while (auto v = co_await q.get()) {
            got.push_back(*v);
        }
        co_return got;
    };
    EXPECT_EQ(run(main()), (std::vector<int>{1, 2, 3}))
        << "hint: a cancelled put leaves the wait list and adds nothing";
}

TEST(AioQueue, CloseWakesWaitersAndRefusesPuts) {
    auto main = []() -> Task<bool> {
        Queue<int> q(1);
        auto getter = create_task(q.get());
        co_await sleep(0ms);
        q.close();
        const auto v = co_await std::move(getter);
        EXPECT_FALSE(v.has_value()) << "hint: close() wakes waiting getters with std::nullopt";
        bool refused = false;
        try {
            co_await q.put(1);
        } catch (const QueueClosed&) {
            refused = true;
        }
        co_return refused;
    };
    EXPECT_TRUE(run(main())) << "hint: put on a closed queue throws QueueClosed";
}

}  // namespace
}  // namespace lesson7::aio
