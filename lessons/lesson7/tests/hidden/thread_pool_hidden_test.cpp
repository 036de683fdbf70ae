// Hidden tests of lesson 7.2's ThreadPool: ordering, exceptions, shutdown races, callback
// threading.
#include "lesson7/thread_pool.hpp"

#include "../public/pool_test_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace lesson7 {
namespace {

using namespace std::chrono_literals;

using test_support::die_hung;
using test_support::Gate;
using test_support::kPatience;

// Waits (bounded) until `pool` reports `n` idle workers: they are then blocked in their wait.
void wait_until_idle(const ThreadPool& pool, std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (pool.idle_workers() != n) {
        if (std::chrono::steady_clock::now() > deadline) {
            die_hung("workers never became idle (hint: count idle workers around the wait)");
        }
        std::this_thread::yield();
    }
}

struct CustomError {
    int code;
};

TEST(ThreadPoolOrderingHidden, SingleWorkerRunsInFifoOrder) {
    ThreadPool pool(1);
    std::vector<int> order;  // only the one worker touches it
    std::vector<Future<void>> fs;
    fs.reserve(500);
    for (int i = 0; i < 500; ++i) {
        fs.push_back(pool.submit([&order, i] { order.push_back(i); }));
    }
    for (auto& f : fs) {
        f.get();
    }
    ASSERT_EQ(order.size(), 500U);
    for (int i = 0; i < 500; ++i) {
        ASSERT_EQ(order[static_cast<std::size_t>(i)], i)
            << "hint: the queue is first in, first out";
    }
}

TEST(ThreadPoolOrderingHidden, MapLargeInputOddChunks) {
    ThreadPool pool(3);
    std::vector<std::string> items;
    items.reserve(2000);
    for (int i = 0; i < 2000; ++i) {
        items.push_back(std::to_string(i));
    }
    for (std::size_t chunk : {3U, 13U, 1999U, 2001U}) {
        auto out = pool.map([](const std::string& s) { return std::stoi(s) + 1; }, items, chunk);
        ASSERT_EQ(out.size(), items.size());
        for (std::size_t i = 0; i < out.size(); ++i) {
            ASSERT_EQ(out[i], static_cast<int>(i) + 1) << "chunk " << chunk;
        }
    }
}

TEST(ThreadPoolOrderingHidden, AsCompletedMixesDoneAndPending) {
    ThreadPool pool(1);
    std::vector<std::shared_ptr<Gate>> gates;
    gates.reserve(4);
    for (int i = 0; i < 4; ++i) {
        gates.push_back(std::make_shared<Gate>());
    }
    std::vector<Future<int>> fs(4);
    const std::vector<int> order{1, 3, 0, 2};
    for (int i : order) {
        fs[static_cast<std::size_t>(i)] = pool.submit([g = gates[static_cast<std::size_t>(i)], i] {
            g->wait();
            return i;
        });
    }
    // 1 and 3 are done before as_completed starts; 0 and 2 finish while it waits.
    gates[1]->open();
    gates[3]->open();
    fs[3].wait();
    AsCompleted<int> it = as_completed(fs);
    std::vector<int> seen{it.next().get(), it.next().get()};
    gates[0]->open();
    seen.push_back(it.next().get());
    gates[2]->open();
    seen.push_back(it.next().get());
    EXPECT_EQ(seen, order);
}

TEST(ThreadPoolOrderingHidden, AsCompletedOfNothingIsEmpty) {
    int n = 0;
    for (const Future<int>& f : as_completed(std::vector<Future<int>>{})) {
        static_cast<void>(f);
        ++n;
    }
    EXPECT_EQ(n, 0);
}

TEST(ThreadPoolExceptionsHidden, ExceptionTypeIsPreserved) {
    ThreadPool pool(2);
    Future<int> a = pool.submit([]() -> int { throw CustomError{7}; });
    Future<void> b = pool.submit([] { throw 42; });
    if (!a.wait_for(kPatience) || !b.wait_for(kPatience)) {
        die_hung("a future of a throwing task never completed");
    }
    try {
        a.get();
        ADD_FAILURE() << "get() must rethrow";
    } catch (const CustomError& e) {
        EXPECT_EQ(e.code, 7) << "hint: keep the very exception object (std::exception_ptr)";
    }
    EXPECT_THROW(b.get(), int) << "hint: exceptions not derived from std::exception travel too";
    EXPECT_THROW(a.get(), CustomError) << "hint: get() rethrows every time";
}

TEST(ThreadPoolExceptionsHidden, MapWaitsForEveryChunkBeforeRethrowing) {
    ThreadPool pool(2);
    std::atomic<int> finished{0};
    std::vector<int> items{0, 1, 2, 3, 4, 5, 6, 7};
    EXPECT_THROW(pool.map(
                     [&finished](int x) {
                         finished.fetch_add(1);
                         if (x == 0) {
                             throw std::runtime_error("first");
                         }
                         return x;
                     },
                     items, 1),
                 std::runtime_error);
    EXPECT_EQ(finished.load(), 8) << "hint: map returns (or throws) only after every chunk ran";
}

TEST(ThreadPoolExceptionsHidden, ManyThrowingTasksKeepThePoolAlive) {
    ThreadPool pool(2);
    std::vector<Future<int>> fs;
    fs.reserve(200);
    for (int i = 0; i < 200; ++i) {
        fs.push_back(pool.submit([i]() -> int {
            if (i % 2 == 0) {
                throw std::runtime_error(std::to_string(i));
            }
            return i;
        }));
    }
    for (int i = 0; i < 200; ++i) {
        auto& f = fs[static_cast<std::size_t>(i)];
        if (!f.wait_for(kPatience)) {
            die_hung("a future never completed");
        }
        if (i % 2 == 0) {
            EXPECT_THROW(f.get(), std::runtime_error);
        } else {
            EXPECT_EQ(f.get(), i);
        }
    }
    EXPECT_EQ(pool.errors().size(), 0U)
        << "hint: exceptions with a future go to the future, not the log";
}

TEST(ThreadPoolShutdownHidden, ShutdownWakesEverySleepingWorker) {
    auto pool = std::make_unique<ThreadPool>(4);
    wait_until_idle(*pool, 4);
    // All four are asleep: shutdown must wake every one of them or the join never returns.
    std::promise<void> joined;
    std::thread closer([&pool, &joined] {
        pool->shutdown(true, false);
        joined.set_value();
    });
    if (joined.get_future().wait_for(kPatience) != std::future_status::ready) {
        die_hung("shutdown(wait=true) never returned with 4 idle workers (hint: wake them all)");
    }
    closer.join();
}

TEST(ThreadPoolShutdownHidden, SubmitRacingShutdownIsRejectedOrCompleted) {
    for (int round = 0; round < 20; ++round) {
        ThreadPool pool(2);
        std::vector<Future<int>> accepted;
        std::latch first(1);
        std::thread submitter([&] {
            for (int i = 0;; ++i) {
                try {
                    accepted.push_back(pool.submit([i] { return i; }));
                } catch (const PoolShutDownError&) {
                    break;
                }
                if (i == 0) {
                    first.count_down();
                }
            }
        });
        first.wait();
        pool.shutdown(true, false);
        submitter.join();
        for (auto& f : accepted) {
            ASSERT_TRUE(f.done())
                << "hint: a task accepted by submit() must run (or be cancelled) before "
                   "shutdown(wait=true) returns; check stopping_ and queue under one lock";
        }
    }
}

TEST(ThreadPoolShutdownHidden, ConcurrentCancelsFinishTheStateOnce) {
    // Two threads cancel the same queued future at the same moment, many times over. Both may
    // see "not running, not done" only if cancelled_ is checked too: otherwise both finish() the
    // state, and the second finish renumbers its completion stamp after the callbacks read it.
    for (int round = 0; round < 300; ++round) {
        ThreadPool pool(1);
        auto gate = std::make_shared<Gate>();
        std::latch started(1);
        Future<int> running = pool.submit([gate, &started] {
            started.count_down();
            gate->wait();
            return 1;
        });
        started.wait();
        Future<int> queued = pool.submit([] { return 2; });
        std::atomic<int> calls{0};
        std::atomic<std::uint64_t> seen{0};
        queued.add_done_callback([&calls, &seen](const Future<int>& f) {
            ++calls;
            seen = f.state()->completion_stamp();
        });
        std::latch go(2);
        std::atomic<int> succeeded{0};
        auto cancel = [&] {
            go.arrive_and_wait();
            if (queued.cancel()) {
                ++succeeded;
            }
        };
        std::thread a(cancel);
        std::thread b(cancel);
        a.join();
        b.join();
        gate->open();  // before any ASSERT: a failed round must not leave the pool hung
        ASSERT_EQ(running.get(), 1);
        ASSERT_EQ(succeeded.load(), 2) << "round " << round << ": hint: cancel() of a cancelled "
                                       << "future returns true";
        ASSERT_EQ(calls.load(), 1) << "round " << round;
        ASSERT_EQ(queued.state()->completion_stamp(), seen.load())
            << "round " << round << ": the state finished twice\nhint: two concurrent cancel() "
            << "calls must not both finish it: check and set cancelled_ under one lock";
    }
}

TEST(ThreadPoolShutdownHidden, ConcurrentShutdownsAreSafe) {
    ThreadPool pool(3);
    for (int i = 0; i < 50; ++i) {
        pool.post([] {});
    }
    std::vector<std::thread> closers;
    closers.reserve(3);
    for (int i = 0; i < 3; ++i) {
        closers.emplace_back([&pool, i] { pool.shutdown(i != 0, i == 2); });
    }
    for (auto& t : closers) {
        t.join();
    }
    pool.shutdown();
    EXPECT_THROW(pool.post([] {}), PoolShutDownError);
}

TEST(ThreadPoolShutdownHidden, DestructorDrainsAfterShutdownWithoutWait) {
    std::atomic<int> ran{0};
    {
        ThreadPool pool(1);
        for (int i = 0; i < 100; ++i) {
            pool.post([&ran] { ran.fetch_add(1); });
        }
        pool.shutdown(false, false);
    }
    EXPECT_EQ(ran.load(), 100) << "hint: shutdown(wait=false) stops intake; queued work still runs";
}

TEST(ThreadPoolCallbacksHidden, CallbacksRunInOrderAdded) {
    ThreadPool pool(1);
    auto gate = std::make_shared<Gate>();
    Future<int> f = pool.submit([gate] {
        gate->wait();
        return 0;
    });
    std::vector<int> calls;  // written only by the completing worker
    std::promise<void> all;
    for (int i = 0; i < 5; ++i) {
        f.add_done_callback([&calls, &all, i](const Future<int>&) {
            calls.push_back(i);
            if (i == 4) {
                all.set_value();
            }
        });
    }
    gate->open();
    if (all.get_future().wait_for(kPatience) != std::future_status::ready) {
        die_hung("done callbacks never ran");
    }
    EXPECT_EQ(calls, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(ThreadPoolCallbacksHidden, CallbackRunsOnTheTasksThread) {
    ThreadPool pool(3);
    for (int round = 0; round < 50; ++round) {
        auto gate = std::make_shared<Gate>();
        Future<std::thread::id> f = pool.submit([gate] {
            gate->wait();
            return std::this_thread::get_id();
        });
        std::promise<std::thread::id> where;
        f.add_done_callback([&where](const Future<std::thread::id>&) {
            where.set_value(std::this_thread::get_id());
        });
        gate->open();
        auto seen = where.get_future();
        if (seen.wait_for(kPatience) != std::future_status::ready) {
            die_hung("a done callback never ran");
        }
        ASSERT_EQ(seen.get(), f.get()) << "hint: the completing worker runs pending callbacks";
    }
}

TEST(ThreadPoolCallbacksHidden, CallbackMayAddCallbacksAndSubmit) {
    ThreadPool pool(2);
    auto gate = std::make_shared<Gate>();
    Future<int> f = pool.submit([gate] {
        gate->wait();
        return 1;
    });
    std::promise<int> chained;
    f.add_done_callback([&pool, &chained](const Future<int>& g) {
        // Re-entering the same future and the pool from a callback must not deadlock.
        g.add_done_callback([&pool, &chained](const Future<int>& h) {
            Future<int> next = pool.submit([v = h.get()] { return v + 1; });
            next.add_done_callback(
                [&chained](const Future<int>& n) { chained.set_value(n.get()); });
        });
    });
    gate->open();
    auto result = chained.get_future();
    if (result.wait_for(kPatience) != std::future_status::ready) {
        die_hung("a callback that re-enters its future or the pool hung (hint: no lock held)");
    }
    EXPECT_EQ(result.get(), 2);
}

TEST(ThreadPoolCallbacksHidden, CancelledFutureRunsCallbacksInTheCanceller) {
    ThreadPool pool(1);
    auto gate = std::make_shared<Gate>();
    std::latch started(1);
    Future<int> busy = pool.submit([gate, &started] {
        started.count_down();
        gate->wait();
        return 0;
    });
    started.wait();
    Future<int> queued = pool.submit([] { return 1; });
    std::thread::id ran_on;
    queued.add_done_callback([&ran_on](const Future<int>& g) {
        ran_on = std::this_thread::get_id();
        EXPECT_TRUE(g.cancelled());
    });
    ASSERT_TRUE(queued.cancel());
    EXPECT_EQ(ran_on, std::this_thread::get_id())
        << "hint: cancel() completes the future right there";
    gate->open();
    EXPECT_EQ(busy.get(), 0);
}

}  // namespace
}  // namespace lesson7
