// Public tests of lesson 7.2: ThreadPool submit/post, ordered map, as_completed, done callbacks,
// shutdown.
#include "lesson7/thread_pool.hpp"

#include "pool_test_support.hpp"

#include <sys/types.h>
#include <unistd.h>

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
using test_support::expect_done_soon;
using test_support::Gate;
using test_support::kPatience;
using test_support::wait_until_blocked;

// Runs `body` on a new thread and returns that thread's kernel id once it is running, so that the
// test can wait until it blocks (see wait_until_blocked). The thread reports when body returned.
struct Blocker {
    template <class F>
    explicit Blocker(F body)
        : thread([this, body = std::move(body)]() mutable {
              tid.set_value(::gettid());
              body();
              finished.set_value();
          }) {}
    Blocker(const Blocker&) = delete;
    Blocker& operator=(const Blocker&) = delete;
    ~Blocker() { thread.join(); }
    pid_t id() { return tid_future.get(); }
    bool finishes_soon() { return done.wait_for(kPatience) == std::future_status::ready; }

    std::promise<pid_t> tid;
    std::future<pid_t> tid_future = tid.get_future();
    std::promise<void> finished;
    std::future<void> done = finished.get_future();
    std::thread thread;  // last: it starts after the promises exist
};

TEST(ThreadPoolSubmit, ReturnsTheValue) {
    ThreadPool pool(2);
    Future<int> f = pool.submit([](int a, int b) { return a * b; }, 6, 7);
    EXPECT_EQ(f.get(), 42)
        << "hint: submit(f, args...) runs f(args...) on a worker and get() returns it";
    EXPECT_TRUE(f.done());
    EXPECT_EQ(f.get(), 42) << "hint: get() may be called again and returns the same value";
}

TEST(ThreadPoolSubmit, RunsVoidTasksAndManyTasks) {
    ThreadPool pool(4);
    std::atomic<int> count{0};
    std::vector<Future<void>> fs;
    fs.reserve(1000);
    for (int i = 0; i < 1000; ++i) {
        fs.push_back(pool.submit([&count] { count.fetch_add(1); }));
    }
    for (auto& f : fs) {
        f.get();
    }
    EXPECT_EQ(count.load(), 1000) << "hint: every submitted task runs exactly once";
}

TEST(ThreadPoolSubmit, TasksRunOnWorkerThreadsInParallel) {
    ThreadPool pool(2);
    // Both tasks must be running at the same time to pass the latch: one worker alone would hang.
    std::latch both(2);
    auto task = [&both] {
        both.arrive_and_wait();
        return std::this_thread::get_id();
    };
    Future<std::thread::id> a = pool.submit(task);
    Future<std::thread::id> b = pool.submit(task);
    expect_done_soon(
        a, "two tasks on ThreadPool(2) never ran at the same time (hint: start all workers)");
    expect_done_soon(b, "two tasks on ThreadPool(2) never ran at the same time");
    EXPECT_NE(a.get(), b.get()) << "hint: the two tasks must run on two different workers";
    EXPECT_NE(a.get(), std::this_thread::get_id())
        << "hint: tasks run on the pool, not in submit()";
}

TEST(ThreadPoolSubmit, EveryWaiterWakesWhenTheTaskFinishes) {
    ThreadPool pool(1);
    auto gate = std::make_shared<Gate>();
    Future<int> f = pool.submit([gate] {
        gate->wait();
        return 5;
    });
    // Three threads already asleep in get() when the task finishes: finish() must wake them all.
    std::vector<std::unique_ptr<Blocker>> waiters;
    waiters.reserve(3);
    std::atomic<int> sum{0};
    for (int i = 0; i < 3; ++i) {
        waiters.push_back(std::make_unique<Blocker>([f, &sum] { sum += f.get(); }));
    }
    for (auto& w : waiters) {
        wait_until_blocked(w->id(), "a thread calling get() never blocked");
    }
    gate->open();
    for (auto& w : waiters) {
        if (!w->finishes_soon()) {
            die_hung(
                "a thread blocked in get() never woke up after the task finished (hint: several "
                "threads may wait for one future: finish() must notify_all)");
        }
    }
    EXPECT_EQ(sum.load(), 15);
}

TEST(ThreadPoolSubmit, ExceptionTravelsThroughFuture) {
    ThreadPool pool(2);
    Future<int> f = pool.submit([]() -> int { throw std::runtime_error("boom"); });
    expect_done_soon(f,
                     "the future of a throwing task never completed (hint: catch the exception "
                     "on the worker and finish the state with it)");
    EXPECT_THROW(
        {
            try {
                f.get();
            } catch (const std::runtime_error& e) {
                EXPECT_STREQ(e.what(), "boom");
                throw;
            }
        },
        std::runtime_error)
        << "hint: get() rethrows the task's own exception";
    EXPECT_NE(f.exception(), nullptr);
    // The worker survived: the pool still runs tasks.
    EXPECT_EQ(pool.submit([] { return 1; }).get(), 1);
}

TEST(ThreadPoolSubmit, ThrowingPostedTaskIsReported) {
    ThreadPool pool(1);
    pool.post([] { throw std::runtime_error("detached boom"); });
    EXPECT_EQ(pool.submit([] { return 5; }).get(), 5)
        << "hint: a throwing posted task must not kill its worker";
    ASSERT_EQ(pool.errors().size(), 1U) << "hint: report a posted task's exception to errors()";
    EXPECT_NE(pool.errors().entries()[0].find("detached boom"), std::string::npos);
}

TEST(ThreadPoolMap, KeepsInputOrder) {
    ThreadPool pool(3);
    std::vector<int> items;
    items.reserve(101);
    for (int i = 0; i < 101; ++i) {
        items.push_back(i);
    }
    for (std::size_t chunk : {1U, 2U, 7U, 100U, 101U, 500U}) {
        SCOPED_TRACE("chunk_size " + std::to_string(chunk));
        std::vector<long> out =
            pool.map([](int x) { return static_cast<long>(x) * x; }, items, chunk);
        ASSERT_EQ(out.size(), items.size()) << "hint: one result per item";
        for (std::size_t i = 0; i < out.size(); ++i) {
            ASSERT_EQ(out[i], static_cast<long>(i * i)) << "hint: results come back in input order";
        }
    }
    EXPECT_TRUE(pool.map([](int x) { return x; }, std::vector<int>{}, 4).empty());
}

TEST(ThreadPoolMap, PlansChunksOfExactlyChunkSize) {
    using Chunks = std::vector<std::pair<std::size_t, std::size_t>>;
    EXPECT_EQ(detail::plan_chunks(10, 4), (Chunks{{0, 4}, {4, 8}, {8, 10}}))
        << "hint: chunks of chunk_size consecutive items, the last one shorter";
    EXPECT_EQ(detail::plan_chunks(3, 1), (Chunks{{0, 1}, {1, 2}, {2, 3}}));
    EXPECT_EQ(detail::plan_chunks(3, 10), (Chunks{{0, 3}}));
    EXPECT_TRUE(detail::plan_chunks(0, 3).empty());
    EXPECT_THROW(detail::plan_chunks(5, 0), std::invalid_argument)
        << "hint: chunk_size 0 is an error";
}

TEST(ThreadPoolMap, RethrowsTheFirstFailureInInputOrder) {
    ThreadPool pool(2);
    std::vector<int> items{0, 1, 2, 3, 4, 5};
    auto f = [](int x) {
        if (x == 2) {
            throw std::out_of_range("two");
        }
        if (x == 4) {
            throw std::domain_error("four");
        }
        return x;
    };
    EXPECT_THROW(pool.map(f, items, 1), std::out_of_range)
        << "hint: the first failing chunk in input order wins, not the first to fail in time";
}

TEST(AsCompleted, YieldsFuturesInCompletionOrder) {
    ThreadPool pool(1);
    // One worker, and each task finishes only when the test lets it: the completion order is
    // exactly the order in which the gates open, 2, 0, 3, 1.
    std::vector<std::shared_ptr<Gate>> gates;
    gates.reserve(4);
    std::vector<Future<int>> fs;
    for (int i = 0; i < 4; ++i) {
        gates.push_back(std::make_shared<Gate>());
    }
    const std::vector<int> order{2, 0, 3, 1};
    fs.reserve(order.size());
    for (int i : order) {
        fs.push_back(pool.submit([gate = gates[static_cast<std::size_t>(i)], i] {
            gate->wait();
            return i;
        }));
    }
    // Reorder the futures so that their index in the input is 0, 1, 2, 3, not the run order.
    std::vector<Future<int>> by_value(4);
    for (std::size_t k = 0; k < 4; ++k) {
        by_value[static_cast<std::size_t>(order[k])] = fs[k];
    }
    AsCompleted<int> it = as_completed(by_value);
    std::vector<int> seen;
    for (int i : order) {
        gates[static_cast<std::size_t>(i)]->open();
        seen.push_back(it.next().get());
    }
    EXPECT_EQ(seen, order) << "hint: as_completed yields each future when it completes";
    EXPECT_EQ(it.remaining(), 0U);
    EXPECT_THROW(it.next(), std::out_of_range);
}

TEST(AsCompleted, WakesAConsumerThatIsAlreadyWaiting) {
    ThreadPool pool(1);
    auto gate = std::make_shared<Gate>();
    std::vector<Future<int>> fs{pool.submit([gate] {
        gate->wait();
        return 7;
    })};
    AsCompleted<int> it = as_completed(fs);
    std::size_t index = 99;
    {
        Blocker consumer([&] { index = it.next_index(); });
        wait_until_blocked(consumer.id(), "as_completed's consumer never blocked");
        gate->open();  // the future completes while the consumer sleeps in next_index()
        if (!consumer.finishes_soon()) {
            die_hung(
                "as_completed never woke a consumer that was waiting (hint: the completion "
                "queue's push() must notify the condition variable that pop() waits on)");
        }
    }
    EXPECT_EQ(index, 0U);
    EXPECT_EQ(it.remaining(), 0U);
}

TEST(AsCompleted, StampsCountCompletionsAndStartAtZero) {
    ThreadPool pool(1);
    auto gate = std::make_shared<Gate>();
    Future<int> first = pool.submit([gate] {
        gate->wait();
        return 1;
    });
    Future<int> second = pool.submit([] { return 2; });
    EXPECT_EQ(first.state()->completion_stamp(), 0U) << "hint: 0 while the future is not done";
    gate->open();
    second.wait();
    first.wait();
    const std::uint64_t a = first.state()->completion_stamp();
    const std::uint64_t b = second.state()->completion_stamp();
    EXPECT_GT(a, 0U);
    EXPECT_EQ(b, a + 1) << "hint: one process-wide counter; each completion takes the next number";
}

TEST(AsCompleted, AlreadyDoneFuturesComeInTheOrderTheyFinished) {
    ThreadPool pool(1);
    std::vector<std::shared_ptr<Gate>> gates;
    gates.reserve(5);
    for (int i = 0; i < 5; ++i) {
        gates.push_back(std::make_shared<Gate>());
    }
    std::vector<Future<int>> fs(5);
    const std::vector<int> order{3, 1, 4, 0, 2};
    for (int i : order) {
        fs[static_cast<std::size_t>(i)] =
            pool.submit([gate = gates[static_cast<std::size_t>(i)], i] {
                gate->wait();
                return i;
            });
    }
    for (int i : order) {
        gates[static_cast<std::size_t>(i)]->open();
        fs[static_cast<std::size_t>(i)].wait();
    }
    std::vector<int> seen;
    for (const Future<int>& f : as_completed(fs)) {
        seen.push_back(f.get());
    }
    EXPECT_EQ(seen, order)
        << "hint: futures that were already done come first, in the order they completed (use "
           "their completion stamps), not in input order: a scan over the inputs is polling";
}

TEST(DoneCallback, RunsAtOnceInTheCallerWhenAlreadyDone) {
    ThreadPool pool(1);
    Future<int> f = pool.submit([] { return 3; });
    f.wait();
    std::thread::id ran_on;
    int value = 0;
    f.add_done_callback([&](const Future<int>& g) {
        ran_on = std::this_thread::get_id();
        value = g.get();
    });
    EXPECT_EQ(ran_on, std::this_thread::get_id())
        << "hint: a callback added to a done future runs at once, in the thread that adds it";
    EXPECT_EQ(value, 3);
}

TEST(DoneCallback, RunsInTheCompletingWorker) {
    ThreadPool pool(1);
    auto gate = std::make_shared<Gate>();
    Future<std::thread::id> f = pool.submit([gate] {
        gate->wait();
        return std::this_thread::get_id();
    });
    std::promise<std::thread::id> ran_on;
    f.add_done_callback([&ran_on](const Future<std::thread::id>&) {
        ran_on.set_value(std::this_thread::get_id());
    });
    gate->open();
    std::future<std::thread::id> seen = ran_on.get_future();
    if (seen.wait_for(kPatience) != std::future_status::ready) {
        die_hung("a done callback added before completion never ran (hint: finish() runs them)");
    }
    EXPECT_EQ(seen.get(), f.get())
        << "hint: the worker that completes the future runs the callback";
}

TEST(DoneCallback, CallbackMayReadItsFuture) {
    ThreadPool pool(1);
    auto gate = std::make_shared<Gate>();
    Future<int> f = pool.submit([gate] {
        gate->wait();
        return 11;
    });
    std::promise<int> got;
    f.add_done_callback(
        [&got](const Future<int>& g) { got.set_value(g.get() + (g.done() ? 1 : 0)); });
    gate->open();
    std::future<int> seen = got.get_future();
    if (seen.wait_for(kPatience) != std::future_status::ready) {
        die_hung(
            "a done callback that calls get() on its own future hung (hint: run callbacks after "
            "releasing the state's lock: the callback takes the same lock)");
    }
    EXPECT_EQ(seen.get(), 12);
}

TEST(DoneCallback, ThrowingCallbackIsReportedAndOthersStillRun) {
    ThreadPool pool(1);
    auto gate = std::make_shared<Gate>();
    Future<int> f = pool.submit([gate] {
        gate->wait();
        return 1;
    });
    std::promise<void> second_ran;
    f.add_done_callback([](const Future<int>&) { throw std::runtime_error("callback boom"); });
    f.add_done_callback([&second_ran](const Future<int>&) { second_ran.set_value(); });
    gate->open();
    if (second_ran.get_future().wait_for(kPatience) != std::future_status::ready) {
        die_hung("the callback after a throwing one never ran (hint: catch around each callback)");
    }
    EXPECT_EQ(pool.submit([] { return 2; }).get(), 2)
        << "hint: a throwing callback must not kill its worker";
    ASSERT_EQ(pool.errors().size(), 1U) << "hint: report the callback's exception to the ErrorLog";
    EXPECT_NE(pool.errors().entries()[0].find("callback boom"), std::string::npos);
}

TEST(ThreadPoolShutdown, SubmitAfterShutdownThrows) {
    ThreadPool pool(2);
    pool.shutdown();
    EXPECT_THROW(pool.submit([] { return 1; }), PoolShutDownError)
        << "hint: after shutdown() the pool accepts no work and says so";
    EXPECT_THROW(pool.post([] {}), PoolShutDownError);
}

TEST(ThreadPoolShutdown, WaitRunsEverythingQueued) {
    std::atomic<int> ran{0};
    std::vector<Future<void>> fs;
    fs.reserve(200);
    {
        ThreadPool pool(2);
        for (int i = 0; i < 200; ++i) {
            fs.push_back(pool.submit([&ran] { ran.fetch_add(1); }));
        }
        pool.shutdown(true, false);
        EXPECT_EQ(ran.load(), 200)
            << "hint: shutdown(wait=true) returns after the queue is drained";
    }
    for (auto& f : fs) {
        EXPECT_TRUE(f.done());
    }
}

TEST(ThreadPoolShutdown, CancelPendingCancelsQueuedTasks) {
    ThreadPool pool(1);
    auto gate = std::make_shared<Gate>();
    std::latch started(1);
    Future<int> running = pool.submit([gate, &started] {
        started.count_down();
        gate->wait();
        return 1;
    });
    started.wait();
    std::vector<Future<int>> queued;
    queued.reserve(5);
    for (int i = 0; i < 5; ++i) {
        queued.push_back(pool.submit([] { return 2; }));
    }
    // Cancel first, then let the running task finish: nothing queued may start in between.
    pool.shutdown(false, true);
    gate->open();
    pool.shutdown(true, false);
    EXPECT_EQ(running.get(), 1) << "hint: the task already running finishes normally";
    for (auto& f : queued) {
        EXPECT_TRUE(f.cancelled()) << "hint: cancel_pending cancels every task still in the queue";
        EXPECT_THROW(f.get(), CancelledError);
    }
}

TEST(ThreadPoolShutdown, CancelIsIdempotentAndCompletesOnce) {
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
    std::atomic<int> callbacks{0};
    queued.add_done_callback([&callbacks](const Future<int>&) { ++callbacks; });
    const bool first = queued.cancel();
    const std::uint64_t stamp = queued.state()->completion_stamp();
    const bool second = queued.cancel();
    gate->open();
    EXPECT_EQ(running.get(), 1);
    EXPECT_TRUE(first);
    EXPECT_TRUE(second) << "hint: cancelling a cancelled future succeeds again (Python returns "
                           "True), without completing it a second time";
    EXPECT_EQ(callbacks.load(), 1) << "hint: a state finishes exactly once";
    EXPECT_EQ(queued.state()->completion_stamp(), stamp)
        << "hint: a second cancel() must not finish the state again";
    EXPECT_TRUE(queued.cancelled());
    EXPECT_FALSE(running.cancel()) << "hint: a finished task cannot be cancelled";
    EXPECT_FALSE(running.cancelled());
}

TEST(ThreadPoolShutdown, CancelOnAQueuedFuture) {
    ThreadPool pool(1);
    auto gate = std::make_shared<Gate>();
    std::latch started(1);
    Future<int> running = pool.submit([gate, &started] {
        started.count_down();
        gate->wait();
        return 1;
    });
    started.wait();
    std::atomic<bool> ran{false};
    Future<int> queued = pool.submit([&ran] {
        ran = true;
        return 2;
    });
    EXPECT_FALSE(running.cancel()) << "hint: a running task cannot be cancelled";
    EXPECT_TRUE(queued.cancel()) << "hint: a task still in the queue can be cancelled";
    gate->open();
    EXPECT_EQ(running.get(), 1);
    EXPECT_THROW(queued.get(), CancelledError);
    pool.shutdown();
    EXPECT_FALSE(ran.load()) << "hint: a cancelled task never runs (check start() on the worker)";
}

}  // namespace
}  // namespace lesson7
