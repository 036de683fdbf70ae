// Public tests of lesson 7.2's ProcessPool: registered tasks in worker processes, crashes, the
// one-line switch.
#include "lesson7/process_pool.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "lesson7/thread_pool.hpp"

namespace lesson7 {
namespace {

using namespace std::chrono_literals;

int fib(int n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}
LESSON7_REGISTER_TASK(fib);

int my_pid(int /*unused*/) {
    return static_cast<int>(::getpid());
}
LESSON7_REGISTER_TASK(my_pid);

long add(int a, long b) {
    return a + b;
}
LESSON7_REGISTER_TASK(add);

std::string shout(std::string s) {
    for (char& c : s) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    return s;
}
LESSON7_REGISTER_TASK(shout);

int fails(int n) {
    throw std::runtime_error("fails(" + std::to_string(n) + ")");
}
LESSON7_REGISTER_TASK(fails);

int dies(int /*unused*/) {
    static_cast<void>(::raise(SIGKILL));
    return 0;
}
LESSON7_REGISTER_TASK(dies);

int not_registered(int n) {
    return n;
}

// True when this process has no child left, running or zombie.
bool no_children_left() {
    int status = 0;
    const pid_t r = ::waitpid(-1, &status, WNOHANG);
    return r == -1 && errno == ECHILD;
}

TEST(ProcessPool, RunsTasksInAnotherProcess) {
    ProcessPool pool(2);
    Future<int> f = pool.submit(my_pid, 0);
    ASSERT_TRUE(f.wait_for(60s)) << "hint: spawn workers, send the request, read the reply";
    EXPECT_NE(f.get(), static_cast<int>(::getpid())) << "hint: tasks run in worker processes";
    EXPECT_EQ(pool.submit(fib, 20).get(), 6765);
}

TEST(ProcessPool, ArgumentsAndResultsCrossThePipes) {
    ProcessPool pool(2);
    EXPECT_EQ(pool.submit(add, 2, 40L).get(), 42L);
    // Larger than a pipe's buffer, even one grown to 1 MiB: reads and writes come back short.
    constexpr std::size_t kBig = (3U << 20U) + 1;
    const std::string big(kBig, 'x');
    EXPECT_EQ(pool.submit(shout, big).get(), std::string(kBig, 'X'))
        << "hint: read and write whole frames, looping over short reads and writes";
    EXPECT_EQ(pool.submit(shout, std::string()).get(), "");
}

TEST(ProcessPool, MapKeepsOrder) {
    ProcessPool pool(2);
    std::vector<int> items;
    items.reserve(25);
    for (int i = 0; i < 25; ++i) {
        items.push_back(i % 15);
    }
    for (std::size_t chunk : {1U, 4U, 25U}) {
        auto out = pool.map(fib, items, chunk);
        ASSERT_EQ(out.size(), items.size());
        for (std::size_t i = 0; i < items.size(); ++i) {
            EXPECT_EQ(out[i], fib(items[i])) << "chunk " << chunk << " index " << i;
        }
    }
}

TEST(ProcessPool, TaskExceptionBecomesRemoteError) {
    ProcessPool pool(1);
    Future<int> f = pool.submit(fails, 7);
    try {
        f.get();
        ADD_FAILURE() << "hint: a task that throws in the worker fails its future";
    } catch (const RemoteError& e) {
        EXPECT_NE(std::string(e.what()).find("fails(7)"), std::string::npos)
            << "hint: carry the original message back in an 'e' reply";
    }
    EXPECT_EQ(pool.submit(fib, 10).get(), 55) << "hint: the worker survives a throwing task";
}

TEST(ProcessPool, UnregisteredFunctionIsRejected) {
    ProcessPool pool(1);
    EXPECT_THROW(pool.submit(not_registered, 1), std::invalid_argument);
}

TEST(ProcessPool, CrashIsReportedAndTheWorkerReplaced) {
    ProcessPool pool(1);
    const std::vector<pid_t> before = pool.worker_pids();
    ASSERT_EQ(before.size(), 1U);
    Future<int> f = pool.submit(dies, 0);
    ASSERT_TRUE(f.wait_for(60s)) << "hint: end of file on a reply pipe means the worker died";
    EXPECT_THROW(f.get(), WorkerCrashed) << "hint: fail the task the dead worker was running";
    EXPECT_EQ(pool.submit(fib, 12).get(), 144) << "hint: start a replacement worker";
    EXPECT_EQ(pool.workers_started(), 2U);
    EXPECT_NE(pool.worker_pids(), before);
}

TEST(ProcessPool, NoZombiesAfterShutdown) {
    {
        ProcessPool pool(2);
        EXPECT_THROW(pool.submit(dies, 0).get(), WorkerCrashed);
        EXPECT_EQ(pool.submit(fib, 5).get(), 5);
        pool.shutdown();
        EXPECT_TRUE(no_children_left())
            << "hint: waitpid() every worker: the dead one at once, the "
               "others after closing their request pipes at shutdown";
    }
    EXPECT_TRUE(no_children_left());
}

TEST(ProcessPool, SubmitAfterShutdownThrows) {
    ProcessPool pool(1);
    pool.shutdown();
    EXPECT_THROW(pool.submit(fib, 1), PoolShutDownError);
}

// The one-line switch: the same code runs on either pool.
template <class Pool>
std::vector<int> fibs_both_ways(Pool& pool) {
    std::vector<Future<int>> fs;
    for (int n = 15; n < 20; ++n) {
        fs.push_back(pool.submit(fib, n));
    }
    std::vector<int> out(5, 0);
    for (const Future<int>& f : as_completed(fs)) {
        for (std::size_t i = 0; i < fs.size(); ++i) {
            if (fs[i].state() == f.state()) {
                out[i] = f.get();
            }
        }
    }
    auto mapped = pool.map(fib, std::vector<int>{1, 2, 3}, 2);
    out.insert(out.end(), mapped.begin(), mapped.end());
    return out;
}

TEST(ProcessPool, OneLineSwitchGivesTheSameResults) {
    std::vector<int> with_threads;
    std::vector<int> with_processes;
    {
        ThreadPool pool(2);
        with_threads = fibs_both_ways(pool);
    }
    {
        ProcessPool pool(2);
        with_processes = fibs_both_ways(pool);
    }
    EXPECT_EQ(with_threads, with_processes);
    EXPECT_EQ(with_processes, (std::vector<int>{610, 987, 1597, 2584, 4181, 1, 1, 2}));
}

}  // namespace
}  // namespace lesson7
