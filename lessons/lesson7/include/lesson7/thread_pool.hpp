// Provided API of lesson 7.2: a thread pool with Python-style futures (submit, map, as_completed,
// done callbacks).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace lesson7 {

// Thrown by Future::get() of a task that was cancelled before it started (Future::cancel() or
// shutdown(..., cancel_pending = true)), like Python's concurrent.futures.CancelledError.
class CancelledError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Thrown by submit(), post() and map() once shutdown() has begun: the pool accepts no new work.
class PoolShutDownError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Provided. Where a pool reports exceptions that have no future to travel in: a throwing done
// callback and a throwing detached task (post()). Python logs these; this log keeps them so that
// a test (or you) can read them, and prints one line per report to stderr. Thread-safe.
class ErrorLog {
  public:
    // Records "where: what()" for `error` (any exception type). Never throws.
    void report(std::string_view where, const std::exception_ptr& error) noexcept {
        try {
            std::string text(where);
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                text += ": ";
                text += e.what();
            } catch (...) {
                text += ": (an exception not derived from std::exception)";
            }
            static_cast<void>(std::fprintf(stderr, "lesson7: exception reported by the pool: %s\n",
                                           text.c_str()));
            const std::lock_guard lock(mutex_);
            entries_.push_back(std::move(text));
        } catch (...) {  // out of memory while reporting: nothing better to do than drop it
        }
    }
    // A copy of every report so far, oldest first.
    std::vector<std::string> entries() const {
        const std::lock_guard lock(mutex_);
        return entries_;
    }
    std::size_t size() const {
        const std::lock_guard lock(mutex_);
        return entries_.size();
    }

  private:
    mutable std::mutex mutex_;
    std::vector<std::string> entries_;
};

namespace detail {

// The shared state behind one Future: the part that does not depend on the result type. The pool's
// worker (or the process pool's I/O thread) completes it exactly once with finish(); any thread may
// wait on it or add callbacks. YOU implement the member functions in src/thread_pool.cpp.
class StateBase {
  public:
    explicit StateBase(std::shared_ptr<ErrorLog> log) : log_(std::move(log)) {}
    StateBase(const StateBase&) = delete;
    StateBase& operator=(const StateBase&) = delete;
    virtual ~StateBase() = default;

    // Called by the thread about to run the task. Returns false if the task was cancelled while it
    // waited in the queue (then the caller must not run it); otherwise marks it running (from now
    // on cancel() fails) and returns true.
    bool start();
    // Completes the state exactly once: error == nullptr means success (the typed value is already
    // stored), otherwise the task's exception. Stamps the completion order, wakes every waiter and
    // every as_completed queue, then runs the done callbacks in this thread, in the order they were
    // added, outside the state's lock. A throwing callback is reported to the ErrorLog and the
    // remaining callbacks still run. Never throws.
    void finish(std::exception_ptr error) noexcept;
    // Python's Future.cancel(): if the task has not started, completes the state with
    // CancelledError and returns true; if it was already cancelled, returns true again without
    // completing it a second time (two threads may cancel at once: finish() still runs once); if
    // it is running or done otherwise, returns false.
    bool cancel();

    bool done() const;                                    // true once finish() has run
    bool cancelled() const;                               // true if cancel() succeeded
    void wait() const;                                    // blocks until done
    bool wait_for(std::chrono::nanoseconds limit) const;  // false if still not done after `limit`
    // The task's exception (nullptr on success). Call only when done().
    std::exception_ptr error() const;
    // 1, 2, 3, ... in the order states of this process finished; 0 while not done.
    std::uint64_t completion_stamp() const;

    // Python's add_done_callback: if the state is already done, runs `callback` at once in the
    // calling thread; otherwise stores it and finish() runs it in the completing thread. Either
    // way an exception from `callback` is reported to the ErrorLog, never propagated.
    void add_done_callback(std::function<void()> callback);

  protected:
    mutable std::mutex mutex_;
    mutable std::condition_variable done_cv_;
    bool running_ = false;                          // guarded by mutex_
    bool done_ = false;                             // guarded by mutex_
    bool cancelled_ = false;                        // guarded by mutex_
    std::uint64_t stamp_ = 0;                       // guarded by mutex_
    std::exception_ptr error_;                      // written once before done_ becomes true
    std::vector<std::function<void()>> callbacks_;  // guarded by mutex_; emptied by finish()
    std::shared_ptr<ErrorLog> log_;
};

// Provided. The typed part: the value is written by the running task before finish() publishes
// it (finish() takes the mutex, wait() takes it too, so readers see the value).
template <class T>
class State : public StateBase {
  public:
    using StateBase::StateBase;
    template <class... A>
    void set_value(A&&... a) {
        value_.emplace(std::forward<A>(a)...);
    }
    // Precondition: the task stored a value (finish() without an exception). A broken precondition
    // throws instead of reading an empty optional.
    const T& value() const {
        if (!value_.has_value()) {
            throw std::logic_error("lesson7: State::value() read before the task stored a value");
        }
        return *value_;
    }

  private:
    std::optional<T> value_;
};

template <>
class State<void> : public StateBase {
  public:
    using StateBase::StateBase;
};

// A min-heap of finished futures keyed by their completion stamp: the heart of as_completed.
// Completing threads push (from a done callback); the consumer pops, blocking while it is empty.
// YOU implement push() and pop() in src/thread_pool.cpp.
class CompletionQueue {
  public:
    // Adds the future at `index` (its position in as_completed's input). Any thread. Never blocks
    // for long.
    void push(std::uint64_t stamp, std::size_t index);
    // Removes and returns the index with the smallest stamp, blocking (no polling, no sleeps)
    // until one is there.
    std::size_t pop();

  private:
    using Entry = std::pair<std::uint64_t, std::size_t>;
    std::mutex mutex_;
    std::condition_variable ready_cv_;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> ready_;  // guarded by mutex_
};

// The non-template core of as_completed. The constructor registers a done callback on every
// state that pushes (stamp, index) into the queue; futures already done are pushed at once (that
// is what add_done_callback does). next_index() returns the indices in completion order: the
// already-done ones first, in the order they finished, then the others as they finish. YOU
// implement the three functions in src/thread_pool.cpp.
class AsCompletedCore {
  public:
    explicit AsCompletedCore(std::vector<std::shared_ptr<StateBase>> states);
    // Blocks until the next future is done and returns its index. Throws std::out_of_range when
    // every index has been returned.
    std::size_t next_index();
    std::size_t remaining() const { return remaining_; }

  private:
    std::vector<std::shared_ptr<StateBase>> states_;
    std::shared_ptr<CompletionQueue> queue_;
    std::size_t remaining_ = 0;
};

// Splits [0, count) into consecutive chunks of exactly `chunk_size` items (the last one may be
// shorter), in order, as half-open [begin, end) pairs; an empty input gives no chunks. Throws
// std::invalid_argument if chunk_size == 0. YOU implement it in src/thread_pool.cpp.
std::vector<std::pair<std::size_t, std::size_t>> plan_chunks(std::size_t count,
                                                             std::size_t chunk_size);

}  // namespace detail

// A handle to the result of a task, shared by copies (like Python's Future, or std::shared_future).
// Any thread may call any member. A default-constructed Future is empty: valid() is false and the
// other members must not be called.
template <class T>
class Future {
  public:
    Future() = default;
    explicit Future(std::shared_ptr<detail::State<T>> state) : state_(std::move(state)) {}

    bool valid() const { return state_ != nullptr; }
    bool done() const { return state_->done(); }
    bool cancelled() const { return state_->cancelled(); }
    bool cancel() { return state_->cancel(); }
    void wait() const { state_->wait(); }
    // Waits at most `limit`; true if the future is done.
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> limit) const {
        return state_->wait_for(std::chrono::duration_cast<std::chrono::nanoseconds>(limit));
    }
    // Python's result(): waits, then returns the value or rethrows the task's exception
    // (CancelledError for a cancelled task). May be called many times, from any thread.
    decltype(auto) get() const {
        state_->wait();
        if (auto error = state_->error()) {
            std::rethrow_exception(error);
        }
        if constexpr (!std::is_void_v<T>) {
            return state_->value();
        }
    }
    // Python's exception(): waits, then returns the task's exception or nullptr.
    std::exception_ptr exception() const {
        state_->wait();
        return state_->error();
    }
    // Python's add_done_callback: `callback(const Future<T>&)` runs once, at once in this thread
    // if the future is already done, otherwise in the thread that completes it (a pool worker).
    // Keep callbacks short: they delay that worker. A throwing callback is reported to the pool's
    // ErrorLog.
    template <class F>
    void add_done_callback(F callback) const {
        // The stored callback holds the state, a cycle that finish() breaks by emptying the list.
        state_->add_done_callback(
            [self = *this, cb = std::move(callback)]() mutable { cb(std::as_const(self)); });
    }

    const std::shared_ptr<detail::State<T>>& state() const { return state_; }

  private:
    std::shared_ptr<detail::State<T>> state_;
};

// Python's as_completed(fs): iterate the futures in the order they complete. Blocking, no polling.
//   for (const Future<int>& f : as_completed(futures)) { use(f.get()); }
template <class T>
class AsCompleted {
  public:
    explicit AsCompleted(std::vector<Future<T>> futures)
        : futures_(std::move(futures)), core_(states_of(futures_)) {}

    std::size_t remaining() const { return core_.remaining(); }
    // Blocks until the next future completes and returns it. Throws std::out_of_range when done.
    Future<T> next() { return futures_[core_.next_index()]; }
    // Like next(), but returns the future's position in the input vector.
    std::size_t next_index() { return core_.next_index(); }

    class iterator {
      public:
        using value_type = Future<T>;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(AsCompleted* owner) : owner_(owner) { advance(); }
        const Future<T>& operator*() const { return current_; }
        const Future<T>* operator->() const { return &current_; }
        iterator& operator++() {
            advance();
            return *this;
        }
        void operator++(int) { advance(); }
        bool operator==(std::default_sentinel_t /*end*/) const { return owner_ == nullptr; }

      private:
        void advance() {
            if (owner_ != nullptr && owner_->remaining() == 0) {
                owner_ = nullptr;
            }
            if (owner_ != nullptr) {
                current_ = owner_->next();
            }
        }
        AsCompleted* owner_ = nullptr;
        Future<T> current_;
    };
    iterator begin() { return iterator(this); }
    std::default_sentinel_t end() { return {}; }

  private:
    static std::vector<std::shared_ptr<detail::StateBase>> states_of(
        const std::vector<Future<T>>& fs) {
        std::vector<std::shared_ptr<detail::StateBase>> states;
        states.reserve(fs.size());
        for (const auto& f : fs) {
            states.push_back(f.state());
        }
        return states;
    }
    std::vector<Future<T>> futures_;
    detail::AsCompletedCore core_;
};

template <class T>
AsCompleted<T> as_completed(std::vector<Future<T>> futures) {
    return AsCompleted<T>(std::move(futures));
}

// A fixed set of worker threads that run submitted tasks in FIFO order.
//
// Threads: the constructor starts `threads` workers; submit/post/map/shutdown may be called from
// any thread, including from inside a task (but a task that waits for a future of the same pool
// can deadlock a pool whose workers are all busy: size the pool for that). Tasks, done callbacks
// of futures completed by a task, and post()ed functions run on worker threads.
// Ownership: the pool owns its threads and queued tasks; futures share their results with it.
// Errors: a task's exception travels in its future; an exception from a post()ed task or from a
// done callback is reported to errors(); submit after shutdown throws PoolShutDownError.
class ThreadPool {
  public:
    // Starts `threads` workers. Throws std::invalid_argument if threads == 0.
    explicit ThreadPool(std::size_t threads);
    // shutdown(wait = true, cancel_pending = false), then joins every worker.
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;
    ThreadPool(ThreadPool&&) = delete;
    ThreadPool& operator=(ThreadPool&&) = delete;

    // Queues f(args...) and returns its future. The callable and the arguments are copied or moved
    // into the task (pass std::ref to share). Throws PoolShutDownError after shutdown began.
    template <class F, class... Args>
    auto submit(F&& f, Args&&... args) {
        using R = std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&...>;
        auto state = std::make_shared<detail::State<R>>(log_);
        // The job holds the state; the lambda only needs a raw pointer (no second reference count),
        // which also keeps small tasks inside std::function's small buffer.
        detail::State<R>* raw = state.get();
        Job job{[raw, fn = std::forward<F>(f), ... a = std::forward<Args>(args)]() mutable {
                    if constexpr (std::is_void_v<R>) {
                        static_cast<void>(raw);  // a void task has no value to store
                        std::invoke(fn, a...);
                    } else {
                        raw->set_value(std::invoke(fn, a...));
                    }
                },
                state};
        enqueue(std::move(job));
        return Future<R>(std::move(state));
    }

    // Queues f() with no future (a "detached" task, like asio::post). If it throws, the exception
    // goes to errors(). Throws PoolShutDownError after shutdown began.
    template <class F>
    void post(F&& f) {
        enqueue(Job{std::forward<F>(f), nullptr});
    }

    // Python's Executor.map, eager: applies f to every item on the pool, `chunk_size` consecutive
    // items per task, and returns the results in input order. Waits for every chunk; if some threw,
    // rethrows the exception of the first failing chunk in input order. Reference arguments stay
    // valid because map returns only after every chunk has finished.
    template <class F, class T>
    auto map(F&& f, const std::vector<T>& items, std::size_t chunk_size = 1) {
        using R = std::decay_t<std::invoke_result_t<F&, const T&>>;
        std::vector<Future<std::vector<R>>> parts;
        for (auto [begin, end] : detail::plan_chunks(items.size(), chunk_size)) {
            parts.push_back(submit([&f, &items, begin = begin, end = end] {
                std::vector<R> out;
                out.reserve(end - begin);
                for (std::size_t i = begin; i < end; ++i) {
                    out.push_back(std::invoke(f, items[i]));
                }
                return out;
            }));
        }
        for (const auto& part : parts) {
            part.wait();
        }
        std::vector<R> results;
        results.reserve(items.size());
        for (const auto& part : parts) {
            const auto& values = part.get();
            results.insert(results.end(), values.begin(), values.end());
        }
        return results;
    }

    // Stops accepting work (later submits throw PoolShutDownError). If cancel_pending, every task
    // still queued is cancelled (its future gets CancelledError). If wait, blocks until every
    // worker has finished the remaining queue and exited. Idempotent; any thread but a worker of
    // this pool may call it with wait = true.
    void shutdown(bool wait = true, bool cancel_pending = false);

    std::size_t size() const { return workers_.size(); }
    // How many workers are blocked waiting for work right now (for tests and monitoring).
    std::size_t idle_workers() const;
    // Exceptions that had no future to travel in.
    ErrorLog& errors() const { return *log_; }

  private:
    // One queued unit of work. `run` may throw: the worker routes the exception to `state` (a
    // submitted task) or to the ErrorLog (a posted task, state == nullptr).
    struct Job {
        std::function<void()> run;
        std::shared_ptr<detail::StateBase> state;
    };

    // YOU implement these in src/thread_pool.cpp.
    void enqueue(Job job);            // any thread; throws PoolShutDownError after shutdown began
    void worker_loop();               // the body of each worker thread
    void run_job(Job& job) noexcept;  // one job on a worker: start, run, finish or report

    std::shared_ptr<ErrorLog> log_ = std::make_shared<ErrorLog>();
    mutable std::mutex mutex_;
    std::condition_variable work_cv_;  // signalled when a job arrives or shutdown begins
    std::deque<Job> queue_;            // guarded by mutex_
    bool stopping_ = false;            // guarded by mutex_
    std::size_t idle_ = 0;             // guarded by mutex_: workers blocked in work_cv_
    std::vector<std::thread> workers_;
    std::mutex join_mutex_;  // serialises the joins of concurrent shutdown(wait = true) calls
};

}  // namespace lesson7
