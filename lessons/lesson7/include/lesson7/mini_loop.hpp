// Provided API of lesson 7.3, task 1: an event loop of your own (a ready queue, a timer heap and a
// poll(2) wait on file descriptors), without libuv, with a clock that tests can drive by hand.
#pragma once

#include <poll.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace lesson7::mini {

// Durations and instants on a loop's clock: nanoseconds since that clock's own epoch.
using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

// What the loop runs: a callback takes nothing and returns nothing (capture what it needs).
using Callback = std::function<void()>;

// Provided. The loop's only source of time and its only way to wait. Time passes in wait() and
// nowhere else, so a test clock that decides how long a wait "lasted" makes every loop test
// deterministic, without sleeping. Called on the loop's thread only.
class Clock {
  public:
    Clock() = default;
    Clock(const Clock&) = delete;
    Clock& operator=(const Clock&) = delete;
    virtual ~Clock() = default;

    // The current time. Never goes backwards.
    virtual TimePoint now() = 0;

    // Waits until one of `fds` is ready (poll(2) semantics: fills in each revents) or `timeout`
    // has passed; std::nullopt means "no deadline", 0 means "do not wait, only look". Returns the
    // number of entries with a non-zero revents (0 on timeout). Throws std::system_error if the
    // wait itself fails.
    virtual int wait(std::span<pollfd> fds, std::optional<Duration> timeout) = 0;

  protected:
    // poll(2) with a timeout in milliseconds (-1: none). An interrupted wait (EINTR) counts as
    // "nothing ready": the loop simply runs another iteration.
    static int poll_fds(std::span<pollfd> fds, int timeout_ms) {
        const int n = ::poll(fds.data(), static_cast<nfds_t>(fds.size()), timeout_ms);
        if (n < 0) {
            if (errno == EINTR) {
                return 0;
            }
            throw std::system_error(errno, std::generic_category(),
                                    "lesson7::mini::Clock::wait: poll(2) failed");
        }
        return n;
    }
};

// Provided. The real clock: std::chrono::steady_clock and a blocking poll(2).
class SystemClock final : public Clock {
  public:
    TimePoint now() override {
        return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
    }

    // poll(2) counts in whole milliseconds. The timeout is rounded UP: rounding 0.4 ms down to 0
    // would make the loop spin (wait 0, timer not yet due, wait 0, ...) until the timer is due.
    int wait(std::span<pollfd> fds, std::optional<Duration> timeout) override {
        int ms = -1;
        if (timeout) {
            const auto up = std::chrono::ceil<std::chrono::milliseconds>(*timeout).count();
            ms = up <= 0 ? 0 : (up >= INT_MAX ? INT_MAX : static_cast<int>(up));
        }
        return poll_fds(fds, ms);
    }
};

// Provided. The one SystemClock that loops built with Loop() share (it holds no state).
inline SystemClock& system_clock() {
    static SystemClock clock;
    return clock;
}

// Provided. A clock for tests: time moves only when the loop waits or when the test calls
// advance(). Every wait() is recorded, so a test can check the timeout the loop computed.
//
// wait() looks at the descriptors without blocking (poll with timeout 0). If one is ready, no
// time passes. If none is, the wait "lasted" its whole timeout: the clock jumps forward by it.
// Two waits would hang or spin in a real program, so they throw std::logic_error instead: a wait
// with no deadline while no descriptor is ready, and any wait beyond the first `max_waits` (a loop
// that iterates that often in a test is spinning).
class ManualClock final : public Clock {
  public:
    explicit ManualClock(TimePoint start = TimePoint{}, std::size_t max_waits = 100'000)
        : now_(start), max_waits_(max_waits) {}

    TimePoint now() override { return now_; }

    int wait(std::span<pollfd> fds, std::optional<Duration> timeout) override {
        if (waits_.size() >= max_waits_) {
            throw std::logic_error(
                "lesson7::mini::ManualClock: the loop waited " + std::to_string(waits_.size()) +
                " times without finishing; is it spinning (waiting 0 while nothing is ready)?");
        }
        waits_.push_back(timeout);
        const int n = poll_fds(fds, 0);
        if (n > 0) {
            return n;
        }
        if (!timeout) {
            throw std::logic_error(
                "lesson7::mini::ManualClock: the loop waits with no deadline and no descriptor is "
                "ready, so it would block forever (is a callback missing a call_soon, or a reader "
                "waiting for data nobody writes?)");
        }
        if (*timeout > Duration::zero()) {
            now_ += *timeout;
        }
        return 0;
    }

    // Moves the clock forward by `d` (d >= 0), as if that much time passed outside the loop.
    void advance(Duration d) {
        if (d < Duration::zero()) {
            throw std::invalid_argument("lesson7::mini::ManualClock::advance: negative duration");
        }
        now_ += d;
    }

    // Every timeout the loop passed to wait(), oldest first (std::nullopt: no deadline).
    const std::vector<std::optional<Duration>>& waits() const { return waits_; }

  private:
    TimePoint now_;
    std::size_t max_waits_;
    std::vector<std::optional<Duration>> waits_;
};

// Provided. A one-shot result that a callback delivers to whoever runs the loop (asyncio's
// Future, minus its callbacks). T is any movable type (Future<bool> for a bare "it happened").
// Loop thread only; not thread-safe.
template <class T>
class Future {
  public:
    bool done() const { return value_.has_value() || error_ != nullptr; }

    // Completes the future. Throws std::logic_error if it is already done.
    void set_result(T value) {
        check_not_done("set_result");
        value_.emplace(std::move(value));
    }
    void set_exception(std::exception_ptr error) {
        check_not_done("set_exception");
        error_ = std::move(error);
    }

    // The value, or rethrows the exception. Throws std::logic_error if the future is not done.
    T& result() {
        if (!done()) {
            throw std::logic_error("lesson7::mini::Future::result: the future is not done yet");
        }
        if (error_) {
            std::rethrow_exception(error_);
        }
        if (!value_.has_value()) {
            throw std::logic_error("lesson7::mini::Future::result: done without a value");
        }
        return *value_;
    }

  private:
    void check_not_done(const char* what) const {
        if (done()) {
            throw std::logic_error(std::string("lesson7::mini::Future::") + what +
                                   ": the future is already done");
        }
    }
    std::optional<T> value_;
    std::exception_ptr error_;
};

// Yours: the state a Handle refers to. Define this struct in src/mini_loop.cpp.
struct HandleState;

// A scheduled callback (from call_soon, call_later or call_at), so that it can be cancelled.
// Copies refer to the same scheduled callback. A default-constructed Handle refers to nothing:
// cancel() does nothing and cancelled() is false. Loop thread only.
class Handle {
  public:
    Handle() = default;
    explicit Handle(std::shared_ptr<HandleState> state) : state_(std::move(state)) {}

    // The callback will not run, and the loop destroys it (and what it captured) now. If it has
    // already run, or is running (a callback may cancel its own handle), this does nothing.
    // Idempotent.
    void cancel();
    // True once cancel() took effect, that is, it was called before the callback ran.
    bool cancelled() const;

    // The state this handle refers to (for your Loop code; null for a default handle).
    const std::shared_ptr<HandleState>& state() const { return state_; }

  private:
    std::shared_ptr<HandleState> state_;
};

// A single-threaded event loop. One iteration, in this order:
//   1. wait: call clock.wait() exactly once, with the descriptors of the registered readers and
//      a timeout of 0 if a callback is ready (or stop() was called), else the time until the
//      earliest timer that is not cancelled (0 if it is already due), else std::nullopt;
//   2. readers: every reader whose descriptor poll reports readable, hung up (POLLHUP) or in
//      error (POLLERR) becomes ready;
//   3. timers: every timer whose deadline is <= clock.now() becomes ready, earliest deadline
//      first, and timers with equal deadlines in the order they were scheduled;
//   4. run: exactly the callbacks that are ready at this point run, in order. A callback that
//      they schedule with call_soon (or a timer that is already due) runs in the NEXT iteration,
//      not in this one (asyncio's rule: one busy callback chain cannot starve readers and timers).
// All members are called on the loop's thread only (from callbacks or between runs); nothing is
// thread-safe. The loop never copies or moves its callbacks' captures.
class Loop {
  public:
    // A loop on the real clock (system_clock()).
    Loop() : Loop(system_clock()) {}
    // A loop on `clock`, which must outlive the loop (tests pass a ManualClock).
    explicit Loop(Clock& clock);
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;
    // Drops every pending callback, timer and reader without running them. Closes no descriptor.
    ~Loop();

    Clock& clock() const { return *clock_; }

    // Schedules `cb` to run in the next run phase (FIFO with other call_soon callbacks). Returns a
    // handle that can cancel it. Throws std::invalid_argument if `cb` is empty.
    Handle call_soon(Callback cb);
    // Schedules `cb` to run once clock().now() >= `when`. Deadlines in the past are due at once
    // (in the next iteration). Equal deadlines run in the order they were scheduled. Throws
    // std::invalid_argument if `cb` is empty.
    Handle call_at(TimePoint when, Callback cb);
    // call_at(clock().now() + delay, cb); a negative delay counts as 0.
    Handle call_later(Duration delay, Callback cb);

    // Calls `cb` in each iteration in which `fd` is readable (or hung up, or in error) until
    // remove_reader(fd). Replaces the previous reader of `fd`, if any. The callback must consume
    // what is there (read until EAGAIN or end of file) or it is called again next iteration.
    // The loop never reads, writes or closes `fd`. Throws std::invalid_argument if fd < 0 or `cb`
    // is empty.
    void add_reader(int fd, Callback cb);
    // Stops watching `fd`. A reader removed (or replaced) before its turn in this iteration's run
    // phase is not called, even if `fd` was reported ready; a reader may remove itself. Returns
    // true if `fd` had a reader. Remove a reader before you close its descriptor: a closed
    // descriptor that poll reports as invalid (POLLNVAL) makes run_until() throw
    // std::logic_error naming the fd (after removing that reader).
    bool remove_reader(int fd);

    // Runs iterations until `done()` returns true or stop() takes effect. `done` is checked before
    // the first iteration (already true: returns at once) and after every iteration. Returns true
    // if done() became true, false if stop() ended the run first. stop() takes effect at the end
    // of the iteration in which it was called: the rest of that run phase still runs, callbacks
    // scheduled meanwhile stay queued for the next run. stop() called while no run is in progress
    // makes the next run end after one iteration.
    //
    // Throws std::logic_error if an iteration is about to begin with nothing that could ever make
    // progress (no ready callback, no timer, no reader) while done() is false: that loop would
    // wait forever. An exception from a callback propagates out of run_until at once: the
    // callbacks of that run phase that had not run yet stay at the front of the ready queue, in
    // order, and run first in the next run; the loop stays usable. Not reentrant: calling
    // run_until from a callback throws std::logic_error.
    bool run_until(const std::function<bool()>& done);
    // Ends the run in progress after the current iteration (see run_until).
    void stop();

    // Runs until stop(). Throws like run_until (an idle loop with nothing to wait for throws
    // std::logic_error instead of hanging).
    void run_forever() {
        run_until([] { return false; });
    }

    // Runs until `f` is done (some callback completes it) and returns its result, or rethrows its
    // exception. Throws std::runtime_error if stop() ends the run before `f` is done.
    template <class T>
    T& run_until_complete(Future<T>& f) {
        if (!run_until([&f] { return f.done(); })) {
            throw std::runtime_error(
                "lesson7::mini::Loop::run_until_complete: the loop stopped before the future "
                "completed");
        }
        return f.result();
    }

  private:
    struct Impl;  // yours: define it in src/mini_loop.cpp (the ready queue, the heap, the readers)
    Clock* clock_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lesson7::mini
