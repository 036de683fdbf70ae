// Hidden tests of lesson 7.2's ProcessPool: crash recovery under load, callbacks, cancellation,
// reaping.
#include "lesson7/process_pool.hpp"

#include "../public/pool_test_support.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <future>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace lesson7 {
namespace {

using namespace std::chrono_literals;

int square(int n) {
    return n * n;
}
LESSON7_REGISTER_TASK(square);

int add_two(int a, int b) {
    return a + b;
}
LESSON7_REGISTER_TASK(add_two);

int crash_if_negative(int n) {
    if (n < 0) {
        static_cast<void>(::raise(SIGKILL));
    }
    return n;
}
LESSON7_REGISTER_TASK(crash_if_negative);

int exit_now(int code) {
    ::_exit(code);
}
LESSON7_REGISTER_TASK(exit_now);

std::pair<int, std::string> tag(const std::pair<int, std::string>& p) {
    return {p.first + 1, p.second + "!"};
}
LESSON7_REGISTER_TASK(tag);

std::vector<int> range_of(int n) {
    std::vector<int> v;
    v.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        v.push_back(i);
    }
    return v;
}
LESSON7_REGISTER_TASK(range_of);

void nothing(int /*unused*/) {}
LESSON7_REGISTER_TASK(nothing);

bool gone(pid_t pid) {
    return ::kill(pid, 0) == -1 && errno == ESRCH;
}

TEST(ProcessPoolHidden, CrashesAmongOtherTasks) {
    ProcessPool pool(2);
    std::vector<Future<int>> fs;
    for (int i = -3; i < 30; ++i) {
        fs.push_back(pool.submit(crash_if_negative, (i % 10 == 0 && i != 0) ? -i : i));
    }
    int crashed = 0;
    for (std::size_t k = 0; k < fs.size(); ++k) {
        ASSERT_TRUE(fs[k].wait_for(120s)) << "hint: every future completes, crash or not";
        const int arg = static_cast<int>(k) - 3;
        const int sent = (arg % 10 == 0 && arg != 0) ? -arg : arg;
        if (sent < 0) {
            EXPECT_THROW(fs[k].get(), WorkerCrashed) << "argument " << sent;
            ++crashed;
        } else {
            EXPECT_EQ(fs[k].get(), sent) << "hint: a crash fails only the task that was running";
        }
    }
    EXPECT_EQ(crashed, 5);
    EXPECT_EQ(pool.workers_started(), 2U + 5U) << "hint: one replacement per crash";
    EXPECT_EQ(pool.worker_pids().size(), 2U);
}

TEST(ProcessPoolHidden, ADeadWorkerIsReapedAtOnce) {
    ProcessPool pool(1);
    const pid_t first = pool.worker_pids().at(0);
    Future<int> exited = pool.submit(exit_now, 3);
    try {
        exited.get();
        ADD_FAILURE() << "hint: a worker that exits while running a task is a crash too";
    } catch (const WorkerCrashed& e) {
        EXPECT_NE(std::string(e.what()).find("exited with status 3"), std::string::npos)
            << "hint: say how the worker ended (WIFEXITED / WEXITSTATUS): " << e.what();
    }
    EXPECT_TRUE(gone(first)) << "hint: waitpid() the dead worker before completing its future";
    EXPECT_EQ(pool.submit(square, 9).get(), 81);
}

TEST(ProcessPoolHidden, AWorkerThatDiesWhileIdleIsReapedAndReplaced) {
    ProcessPool pool(2);
    EXPECT_EQ(pool.submit(square, 3).get(), 9);
    const std::vector<pid_t> before = pool.worker_pids();
    ASSERT_EQ(before.size(), 2U);
    // Killed from outside while it waits for work: no task is lost, but the pool must notice
    // (end of file on its reply pipe), reap it and start another.
    ASSERT_EQ(::kill(before[0], SIGKILL), 0);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (pool.workers_started() < 3U) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline)
            << "hint: watch idle workers' reply pipes too: end of file there means a death";
        std::this_thread::yield();
    }
    while (!gone(before[0])) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline)
            << "hint: waitpid() a worker that died while idle, or it stays a zombie";
        std::this_thread::yield();
    }
    // The replacement is counted when it starts and takes the slot a moment later: wait for it.
    std::vector<pid_t> after = pool.worker_pids();
    while (after.size() != 2U || std::count(after.begin(), after.end(), before[0]) != 0) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline)
            << "hint: the replacement takes the dead worker's slot, and worker_pids() stops "
               "reporting the dead pid";
        std::this_thread::yield();
        after = pool.worker_pids();
    }
    EXPECT_EQ(std::count(after.begin(), after.end(), before[1]), 1)
        << "hint: only the dead worker is replaced";
    std::vector<Future<int>> fs;
    fs.reserve(8);
    for (int i = 0; i < 8; ++i) {
        fs.push_back(pool.submit(square, i));
    }
    for (int i = 0; i < 8; ++i) {
        ASSERT_TRUE(fs[static_cast<std::size_t>(i)].wait_for(60s));
        EXPECT_EQ(fs[static_cast<std::size_t>(i)].get(), i * i);
    }
    EXPECT_EQ(pool.errors().size(), 0U);
}

// Lowers this process's limit on open files so that at most `spare` new fds can be opened (0:
// none), and restores it.
class FewNewFiles {
  public:
    explicit FewNewFiles(int spare) {
        // UBSan's vptr check probes memory through a pipe the first time it meets a dynamic type,
        // and with no fd to spare it reports a false "wrong dynamic type". Let it meet the
        // std::system_error that the pool will report (through a std::exception&) beforehand.
        try {
            throw std::system_error(EMFILE, std::generic_category(), "warming up");
        } catch (const std::exception& e) {
            EXPECT_NE(std::string(e.what()).find("warming up"), std::string::npos);
        }
        EXPECT_EQ(::getrlimit(RLIMIT_NOFILE, &saved_), 0);
        const int lowest_free = ::dup(0);  // every fd below it is in use
        ::close(lowest_free);
        rlimit lowered = saved_;
        lowered.rlim_cur = static_cast<rlim_t>(lowest_free) + static_cast<rlim_t>(spare);
        EXPECT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
    }
    FewNewFiles(const FewNewFiles&) = delete;
    FewNewFiles& operator=(const FewNewFiles&) = delete;
    ~FewNewFiles() { static_cast<void>(::setrlimit(RLIMIT_NOFILE, &saved_)); }

  private:
    rlimit saved_{};
};

int dies_now(int /*unused*/) {
    static_cast<void>(::raise(SIGKILL));
    return 0;
}
LESSON7_REGISTER_TASK(dies_now);

TEST(ProcessPoolHidden, WhenNoReplacementCanStartQueuedTasksFail) {
    ProcessPool pool(1);
    ASSERT_EQ(pool.submit(square, 2).get(), 4);
    Future<int> crash;
    Future<int> queued;
    {
        // The only worker dies while no pipe can be made for a replacement: the task it ran and
        // the one queued behind it must fail, not wait forever.
        const FewNewFiles limit(0);
        crash = pool.submit(dies_now, 0);
        queued = pool.submit(square, 3);
        ASSERT_TRUE(crash.wait_for(60s));
        ASSERT_TRUE(queued.wait_for(60s))
            << "hint: with no worker left and none startable, fail what is queued and stop";
    }
    EXPECT_THROW(crash.get(), WorkerCrashed);
    EXPECT_THROW(queued.get(), WorkerCrashed) << "hint: the queued task can never run now";
    ASSERT_EQ(pool.errors().size(), 1U) << "hint: report the failed replacement to errors()";
    EXPECT_NE(pool.errors().entries()[0].find("replacing"), std::string::npos)
        << pool.errors().entries()[0];
    EXPECT_EQ(pool.workers_started(), 1U);
    EXPECT_TRUE(pool.worker_pids().empty()) << "hint: drop the slot whose replacement failed";
    EXPECT_THROW(pool.submit(square, 4), PoolShutDownError)
        << "hint: a pool without workers stops accepting work";
    pool.shutdown();
    int status = 0;
    EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1) << "hint: the dead worker is reaped";
}

TEST(ProcessPoolHidden, AFailedStartLeavesNoProcessBehind) {
    // With room for 0, 1, 2, ... new fds, the constructor runs out at every step in turn (the
    // wake-up pipe, the first worker's pipes, the second's): whatever it had started must be gone
    // when the exception leaves it.
    int failures = 0;
    for (int spare = 0; spare <= 10; ++spare) {
        SCOPED_TRACE("room for " + std::to_string(spare) + " new fds");
        try {
            const FewNewFiles limit(spare);
            ProcessPool pool(2);
            pool.shutdown();
        } catch (const std::system_error&) {
            ++failures;
        }
        int status = 0;
        ASSERT_EQ(::waitpid(-1, &status, WNOHANG), -1)
            << "hint: when the constructor fails, close the started workers' request pipes and "
               "waitpid() them before rethrowing";
    }
    EXPECT_GT(failures, 1) << "hint: a pipe that cannot be made is a std::system_error";
}

void ignore_signal(int /*signal*/) {}

// Installs a SIGUSR1 handler without SA_RESTART, so that a blocked read() or write() returns early:
// a write that already moved some bytes returns that short count, one that moved none fails with
// EINTR. Restores the old handler.
class InterruptingSignal {
  public:
    InterruptingSignal() {
        struct sigaction action{};
        action.sa_handler = &ignore_signal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0;
        EXPECT_EQ(::sigaction(SIGUSR1, &action, &saved_), 0);
    }
    InterruptingSignal(const InterruptingSignal&) = delete;
    InterruptingSignal& operator=(const InterruptingSignal&) = delete;
    ~InterruptingSignal() { static_cast<void>(::sigaction(SIGUSR1, &saved_, nullptr)); }

  private:
    struct sigaction saved_{};
};

struct TestPipe {
    TestPipe() { EXPECT_EQ(::pipe(fds.data()), 0); }
    TestPipe(const TestPipe&) = delete;
    TestPipe& operator=(const TestPipe&) = delete;
    ~TestPipe() {
        close_write();
        ::close(fds[0]);
    }
    void close_write() {
        if (fds[1] >= 0) {
            ::close(fds[1]);
            fds[1] = -1;
        }
    }
    std::array<int, 2> fds{-1, -1};
};

TEST(ProcessPoolHidden, FramesSurviveShortWritesAndInterruptedCalls) {
    const InterruptingSignal signal;
    const std::string payload = [] {
        std::string p(1U << 20U, '\0');
        for (std::size_t i = 0; i < p.size(); ++i) {
            p[i] = static_cast<char>('a' + i % 23);
        }
        return p;
    }();
    TestPipe pipe;  // 64 KiB by default: the writer blocks long before the frame is through
    std::promise<pid_t> writer_tid;
    std::atomic<bool> wrote{false};
    std::thread writer([&] {
        writer_tid.set_value(::gettid());
        detail::write_frame(pipe.fds[1], payload);
        wrote = true;
    });
    const pid_t tid = writer_tid.get_future().get();
    // Interrupt the writer while it blocks on the full pipe: write() returns a short count.
    test_support::wait_until_blocked(tid, "write_frame never blocked on a full pipe");
    ASSERT_EQ(::pthread_kill(writer.native_handle(), SIGUSR1), 0);
    std::string got;
    ASSERT_TRUE(detail::read_frame(pipe.fds[0], got));
    writer.join();
    EXPECT_TRUE(wrote.load());
    EXPECT_EQ(got.size(), payload.size())
        << "hint: write() may write fewer bytes than asked (a signal, a full pipe): loop";
    EXPECT_TRUE(got == payload) << "hint: after a short write, continue where it stopped";

    // A reader blocked on an empty pipe and interrupted fails with EINTR: it must read again.
    std::promise<pid_t> reader_tid;
    std::string second;
    bool second_ok = false;
    std::thread reader([&] {
        reader_tid.set_value(::gettid());
        second_ok = detail::read_frame(pipe.fds[0], second);
    });
    const pid_t rtid = reader_tid.get_future().get();
    test_support::wait_until_blocked(rtid, "read_frame never blocked on an empty pipe");
    ASSERT_EQ(::pthread_kill(reader.native_handle(), SIGUSR1), 0);
    detail::write_frame(pipe.fds[1], "after the signal");
    reader.join();
    EXPECT_TRUE(second_ok) << "hint: EINTR is not end of file: read again";
    EXPECT_EQ(second, "after the signal");

    // A frame cut short by end of file is an error; end of file between frames is not.
    detail::write_frame(pipe.fds[1], "");
    const std::array<char, 6> torn{10, 0, 0, 0, 'a', 'b'};  // says 10 bytes, brings 2
    ASSERT_EQ(::write(pipe.fds[1], torn.data(), torn.size()), 6);
    pipe.close_write();
    std::string empty = "stale";
    ASSERT_TRUE(detail::read_frame(pipe.fds[0], empty));
    EXPECT_EQ(empty, "") << "hint: a frame of length 0 is an empty payload";
    std::string cut;
    EXPECT_THROW(detail::read_frame(pipe.fds[0], cut), std::runtime_error)
        << "hint: end of file inside a frame means the writer died: throw";
    std::string none;
    EXPECT_FALSE(detail::read_frame(pipe.fds[0], none))
        << "hint: end of file before a frame's first byte returns false";
}

int throws_a_number(int n) {
    throw n;  // NOLINT(hicpp-exception-baseclass): a non-standard exception on purpose
}
LESSON7_REGISTER_TASK(throws_a_number);

std::string env_of(const std::string& name) {
    const char* value = std::getenv(name.c_str());
    return value == nullptr ? "(unset)" : value;
}
LESSON7_REGISTER_TASK(env_of);

// Closes the worker's request pipe and returns: the worker replies, then fails its next read and
// exits, so a request sent to it meanwhile meets a pipe with no reader (EPIPE, and SIGPIPE unless
// the pool blocked it).
int stop_reading(int /*unused*/) {
    ::close(3);
    return 1;
}
LESSON7_REGISTER_TASK(stop_reading);

// Runs worker_main in this process on the given request frames; returns its reply frames.
std::vector<std::string> worker_replies(const std::vector<std::string>& requests) {
    TestPipe in;
    TestPipe out;
    for (const auto& r : requests) {
        detail::write_frame(in.fds[1], r);
    }
    in.close_write();
    detail::worker_main(in.fds[0], out.fds[1]);
    out.close_write();
    std::vector<std::string> replies;
    std::string reply;
    while (detail::read_frame(out.fds[0], reply)) {
        replies.push_back(reply);
    }
    return replies;
}

TEST(ProcessPoolHidden, TheWorkerLoopAnswersEveryRequest) {
    std::string args;
    wire::encode(args, 7);
    std::string chunk;
    wire::encode(chunk, std::vector<int>{2, 3});
    const std::vector<std::string> replies = worker_replies({
        detail::make_request('c', "square", args),
        detail::make_request('c', "no_such_task", args),
        detail::make_request('m', "square", chunk),
        detail::make_request('m', "add_two", args),
        detail::make_request('c', "throws_a_number", args),
        detail::make_request('c', "square", args),
    });
    ASSERT_EQ(replies.size(), 6U) << "hint: one reply frame per request, until end of file";
    std::string want;
    wire::encode(want, 49);
    EXPECT_EQ(replies[0], "o" + want);
    EXPECT_EQ(replies[1].substr(0, 1), "e") << "hint: an unknown task is an 'e' reply";
    EXPECT_NE(replies[1].find("no_such_task"), std::string::npos) << replies[1];
    std::string mapped;
    wire::encode(mapped, std::vector<int>{4, 9});
    EXPECT_EQ(replies[2], "o" + mapped) << "hint: 'm' runs call_chunk over a vector of arguments";
    EXPECT_EQ(replies[3].substr(0, 1), "e") << "hint: a task of two arguments has no call_chunk";
    EXPECT_EQ(replies[4].substr(0, 1), "e") << "hint: catch (...) too: any exception is an 'e'";
    EXPECT_EQ(replies[5], "o" + want) << "hint: the worker goes on after an error";
}

TEST(ProcessPoolHidden, WorkersGetTheParentsEnvironment) {
    ASSERT_EQ(::setenv("LESSON7_TEST_MARK", "from the parent", 1), 0);
    ProcessPool pool(1);
    EXPECT_EQ(pool.submit(env_of, std::string("LESSON7_TEST_MARK")).get(), "from the parent")
        << "hint: start the worker with a copy of environ plus LESSON7_PROCESS_WORKER=1";
    EXPECT_EQ(pool.submit(env_of, std::string("LESSON7_PROCESS_WORKER")).get(), "(unset)");
    ::unsetenv("LESSON7_TEST_MARK");
}

TEST(ProcessPoolHidden, ZeroWorkersIsAnError) {
    EXPECT_THROW(ProcessPool(0), std::invalid_argument);
}

TEST(ProcessPoolHidden, AWriteToAWorkerThatStoppedReadingFailsThatTaskOnly) {
    ProcessPool pool(1);
    Future<int> first = pool.submit(stop_reading, 0);
    Future<int> second = pool.submit(square, 5);  // sent after first's reply, to a dead pipe
    ASSERT_TRUE(first.wait_for(60s));
    EXPECT_EQ(first.get(), 1);
    ASSERT_TRUE(second.wait_for(60s))
        << "hint: block SIGPIPE in the I/O thread; a failed write means the worker is gone, and "
           "its reply pipe's end of file says so";
    EXPECT_THROW(second.get(), WorkerCrashed);
    EXPECT_EQ(pool.submit(square, 6).get(), 36) << "hint: the worker is replaced";
}

TEST(ProcessPoolHidden, CrashMessageSaysWhatHappened) {
    ProcessPool pool(1);
    // A named future keeps the exception alive past the catch below: if the I/O thread dropped
    // the last reference, ThreadSanitizer could not see the hand-over (libstdc++ counts exception
    // references in code it does not instrument) and would report a false race.
    Future<int> f = pool.submit(crash_if_negative, -1);
    try {
        f.get();
        ADD_FAILURE() << "a killed worker must fail its future";
    } catch (const WorkerCrashed& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("signal 9"), std::string::npos)
            << "hint: say how the worker died (WIFSIGNALED / WTERMSIG): " << what;
    }
}

TEST(ProcessPoolHidden, CompositeTypesRoundTrip) {
    ProcessPool pool(1);
    auto p = pool.submit(tag, std::pair<int, std::string>{41, "hi"}).get();
    EXPECT_EQ(p.first, 42);
    EXPECT_EQ(p.second, "hi!");
    EXPECT_EQ(pool.submit(range_of, 5).get(), (std::vector<int>{0, 1, 2, 3, 4}));
    pool.submit(nothing, 1).get();
}

TEST(ProcessPoolHidden, CallbacksRunOffTheCallingThread) {
    ProcessPool pool(1);
    Future<int> f = pool.submit(square, 7);
    std::promise<std::pair<std::thread::id, int>> seen;
    f.add_done_callback(
        [&seen](const Future<int>& g) { seen.set_value({std::this_thread::get_id(), g.get()}); });
    auto result = seen.get_future();
    ASSERT_EQ(result.wait_for(60s), std::future_status::ready) << "hint: finish() the state";
    const auto [who, value] = result.get();
    EXPECT_EQ(value, 49);
    // Either at once here (already done) or on the pool's I/O thread; both are correct.
    static_cast<void>(who);
}

TEST(ProcessPoolHidden, AsCompletedOverProcessFutures) {
    ProcessPool pool(2);
    std::vector<Future<int>> fs;
    fs.reserve(10);
    for (int i = 0; i < 10; ++i) {
        fs.push_back(pool.submit(square, i));
    }
    int sum = 0;
    int n = 0;
    for (const Future<int>& f : as_completed(fs)) {
        sum += f.get();
        ++n;
    }
    EXPECT_EQ(n, 10);
    EXPECT_EQ(sum, 285);
}

TEST(ProcessPoolHidden, ShutdownReapsEveryWorker) {
    std::vector<pid_t> pids;
    {
        ProcessPool pool(3);
        for (int i = 0; i < 6; ++i) {
            pool.submit(square, i).get();
        }
        pids = pool.worker_pids();
        pool.shutdown(true, false);
        for (pid_t pid : pids) {
            EXPECT_TRUE(gone(pid))
                << "hint: shutdown(wait=true) returns after waitpid() of every worker";
        }
    }
    int status = 0;
    EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1) << "hint: no zombie may be left behind";
}

TEST(ProcessPoolHidden, CancelPendingFailsQueuedTasks) {
    ProcessPool pool(1);
    std::vector<Future<int>> fs;
    fs.reserve(300);
    for (int i = 0; i < 300; ++i) {
        fs.push_back(pool.submit(square, i));
    }
    pool.shutdown(true, true);
    int cancelled = 0;
    for (auto& f : fs) {
        ASSERT_TRUE(f.done()) << "hint: after shutdown every future is done: run or cancelled";
        if (f.cancelled()) {
            EXPECT_THROW(f.get(), CancelledError);
            ++cancelled;
        } else {
            EXPECT_GE(f.get(), 0);
        }
    }
    EXPECT_GT(cancelled, 0) << "hint: cancel_pending cancels what is still queued";
}

}  // namespace
}  // namespace lesson7
