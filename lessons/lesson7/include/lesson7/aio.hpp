// Provided API of lesson 7.3, tasks 2 and 3: C++20 coroutine tasks on a libuv loop (asyncio's
// core: Task, run, sleep, create_task, gather, as_completed, wait_for, cancellation, the leak
// report), and the Completion bridge from callback code. Semaphore and Queue are in aio_sync.hpp,
// included at the end.
//
// The model (read this first). Everything here runs on ONE thread: the thread that called run().
// A coroutine returning Task<T> is lazy: calling it only makes the frame; `co_await std::move(t)`
// starts it and the awaiting coroutine continues when it finishes. No coroutine ever resumes
// another from inside itself: both hand-offs (parent to child, child back to parent) suspend and
// tell the loop what to run next, and the loop's step resumes it from a flat trampoline loop, so
// a chain of a million awaits uses no stack. (That is the guarantee of C++20's symmetric transfer,
// `await_suspend` returning the next handle, but that relies on the compiler emitting a tail
// call, which g++ 12 does not do under ASan or TSan; the trampoline gives it on every build.)
// A *scheduled task* is the root of such a chain: run() makes
// one for main, create_task() makes one for each background task. The loop keeps a ready list of
// scheduled tasks and runs one step of each in turn; a step ends when the chain suspends at a
// *leaf* (sleep, a Completion, a Semaphore or Queue wait, awaiting another scheduled task). The
// leaf parks the task; the event it waits for (a timer, a release, a callback) wakes it, which
// puts it back on the ready list. cancel() wakes a parked task at once, and the leaf throws
// CancelledError into the coroutine at that suspension point after undoing its registration
// (stopping and closing its timer, leaving its wait list).
//
// Templates must live in this header, so the logic you write lives behind the non-template
// classes in namespace detail (TaskBase, Suspension, WaitList, Runner, CompletionBase,
// CompletionOrder, ...), implemented in lessons/lesson7/src/aio.cpp (and aio_sync.cpp).
#pragma once

#include <uv.h>

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace lesson7::aio {

// Thrown at the suspension point of a task that was cancelled (TaskHandle::cancel(), wait_for's
// timeout, gather's fail-fast, shutdown), and by awaiting a task that ended cancelled. Like
// asyncio's CancelledError, a task may catch it, clean up, and go on (the cancellation is then
// consumed); rethrowing it is the polite answer.
class CancelledError : public std::exception {
  public:
    CancelledError() noexcept = default;
    const char* what() const noexcept override { return "lesson7::aio: the task was cancelled"; }
};

// Thrown by wait_for() when the task did not finish in time (the task has then been cancelled and
// has finished).
class TimeoutError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

template <class T = void>
class Task;
template <class T = void>
class TaskHandle;

// Where something was made, as SourceLocation gives it. SourceLocation itself needs
// a compiler builtin that clang 14 lacks with libstdc++ 12 (the kit supports both compilers), so
// this is the same idea on the older builtins: as a default argument, `where =
// SourceLocation::current()` is the caller's file, line and function.
class SourceLocation {
  public:
    constexpr SourceLocation() noexcept = default;
    static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                            unsigned line = __builtin_LINE(),
                                            const char* function = __builtin_FUNCTION()) noexcept {
        SourceLocation here;
        here.file_ = file;
        here.line_ = line;
        here.function_ = function;
        return here;
    }
    constexpr const char* file_name() const noexcept { return file_; }
    constexpr unsigned line() const noexcept { return line_; }  // 0: unknown
    constexpr const char* function_name() const noexcept { return function_; }

  private:
    const char* file_ = "";
    unsigned line_ = 0;
    const char* function_ = "";
};

// One thing found when run() shuts down, asyncio's "Task was destroyed but it is pending".
struct Leak {
    enum class Kind {
        task_never_awaited,   // create_task() made it; nobody ever took its result (await,
                              // gather, as_completed, result())
        task_pending,         // still pending when main returned: it was cancelled at shutdown
        handle_never_closed,  // a libuv handle still open when main's tasks were all over
    };
    Kind kind;
    std::string message;   // one line: what leaked, where it was made, what to do
    SourceLocation where;  // where it was made (create_task's or track_handle's caller);
                           // a default-constructed location if nobody said
};

struct RunOptions {
    // Called once per leak found at shutdown, on the loop thread, before run() returns. Empty (the
    // default): each leak's message is printed to stderr as "lesson7::aio: leak: <message>".
    std::function<void(const Leak&)> on_leak;
};

// The uv_loop_t of the run() in progress on this thread. Throws std::logic_error outside run().
uv_loop_t& current_loop();

// Records where a handle that the caller has just initialised on current_loop() was made, so that
// if it is still open when run() shuts down, the leak report names that place. Optional: open
// handles are reported (and closed) either way, an untracked one as "of unknown origin". Throws
// std::logic_error outside run().
void track_handle(const uv_handle_t* handle, SourceLocation where = SourceLocation::current());

// Suspends the calling task for at least d, on a uv_timer_t (libuv counts whole milliseconds, so
// a positive d is rounded up to the next millisecond). d <= 0 means "on the next loop iteration":
// the other ready tasks run first. If the task is cancelled while it sleeps, the timer is stopped
// and closed and the co_await throws CancelledError.
Task<void> sleep(std::chrono::nanoseconds d);

namespace detail {

class TaskBase;
class WaitList;
// Yours to define in aio.cpp (the loop's per-run state and scheduling); it may use the private
// parts of TaskBase and Suspension.
class Scheduler;

// The part of every Task<T> promise that does not depend on T.
class PromiseBase {
  public:
    struct FinalAwaiter {
        bool await_ready() const noexcept { return false; }
        template <class Promise>
        void await_suspend(std::coroutine_handle<Promise> self) noexcept;
        void await_resume() const noexcept {}
    };

    std::suspend_always initial_suspend() const noexcept { return {}; }  // lazy
    FinalAwaiter final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { error_ = std::current_exception(); }

    std::coroutine_handle<> continuation_;  // the coroutine that awaits this one, if any
    std::exception_ptr error_;              // what the body threw
    TaskBase* owner_ = nullptr;             // set when this coroutine is a scheduled task's root
};

// TODO(lesson7) in aio.cpp. `co_await child` from `parent` (parent is now suspended): remember
// parent as child's continuation and tell the running step to resume child next. Never call
// resume() here: that nests one stack frame per co_await.
void start_awaited(PromiseBase& child, std::coroutine_handle<> child_handle,
                   std::coroutine_handle<> parent) noexcept;

// TODO(lesson7) in aio.cpp. The coroutine of `promise` has finished (it is suspended at its final
// point): tell the running step to resume its continuation next; a root has none: tell its
// TaskBase it is done.
void final_transfer(PromiseBase& promise) noexcept;

template <class Promise>
void PromiseBase::FinalAwaiter::await_suspend(std::coroutine_handle<Promise> self) noexcept {
    final_transfer(self.promise());
}

// One leaf suspension of a scheduled task: the awaiters of sleep, Completion, Semaphore, Queue and
// of a scheduled task derive from it. Lives in the suspended coroutine's frame. Loop thread only.
class Suspension {
  public:
    Suspension() = default;
    Suspension(const Suspension&) = delete;
    Suspension& operator=(const Suspension&) = delete;
    Suspension(Suspension&&) = delete;
    Suspension& operator=(Suspension&&) = delete;
    // A frame is destroyed while parked only at shutdown, and the Runner calls on_cancel() first.
    virtual ~Suspension() = default;

    // For await_suspend(h): parks the current scheduled task here, to be resumed at h. Returns
    // false, without parking, if a cancellation of the task is pending (asked for while it ran):
    // the caller must then not suspend, register nothing, and let await_resume() throw. Throws
    // std::logic_error outside a scheduled task (outside run()).
    bool park(std::coroutine_handle<> h);
    // The event waited for happened: put the task back on the ready list. A no-op unless parked
    // (so a late event after a cancellation is harmless).
    void wake() noexcept;
    // For await_resume(): throws CancelledError if this wait ended by cancellation (or park()
    // refused because one was pending).
    void throw_if_cancelled() const;
    bool parked() const noexcept { return state_ == State::parked; }
    bool cancelled() const noexcept { return state_ == State::cancelled; }

  protected:
    // The task was cancelled while parked here: undo the registration (leave the wait list, stop
    // and close the timer, tell the producer). Must not resume anything and must not throw.
    virtual void on_cancel() noexcept = 0;

  private:
    friend class TaskBase;
    friend class WaitList;
    friend class Scheduler;
    enum class State { idle, parked, woken, cancelled };
    State state_ = State::idle;
    TaskBase* task_ = nullptr;
    std::coroutine_handle<> resume_at_;
    // WaitList links (a suspension is in at most one wait list at a time).
    Suspension* prev_ = nullptr;
    Suspension* next_ = nullptr;
    WaitList* list_ = nullptr;
};

// A FIFO of parked suspensions with O(1) removal (a cancelled waiter leaves from the middle).
// Intrusive: it allocates nothing. TODO(lesson7) in aio.cpp.
class WaitList {
  public:
    WaitList() = default;
    WaitList(const WaitList&) = delete;
    WaitList& operator=(const WaitList&) = delete;
    WaitList(WaitList&&) = delete;
    WaitList& operator=(WaitList&&) = delete;
    ~WaitList() = default;

    void push_back(Suspension& s) noexcept;  // s must not be in a list already
    Suspension* pop_front() noexcept;        // nullptr when empty
    void remove(Suspension& s) noexcept;     // no-op if s is not in this list
    bool empty() const noexcept { return head_ == nullptr; }
    std::size_t size() const noexcept { return size_; }

  private:
    Suspension* head_ = nullptr;
    Suspension* tail_ = nullptr;
    std::size_t size_ = 0;
};

// Told when a scheduled task finishes (intrusive: the task holds a list of them).
class DoneListener {
  public:
    DoneListener() = default;
    DoneListener(const DoneListener&) = delete;
    DoneListener& operator=(const DoneListener&) = delete;
    DoneListener(DoneListener&&) = delete;
    DoneListener& operator=(DoneListener&&) = delete;
    virtual ~DoneListener();  // removes itself from its task's list if still there
    // Runs on the loop thread once the task is done (it is already removed from the list).
    virtual void on_done(TaskBase& task) noexcept = 0;

  private:
    friend class TaskBase;
    DoneListener* prev_ = nullptr;
    DoneListener* next_ = nullptr;
    TaskBase* target_ = nullptr;
};

// A scheduled task: the root coroutine of a chain plus the loop's bookkeeping. Shared by the loop
// (until it is done) and by its TaskHandle (until the handle goes): the last one frees it.
// Loop thread only. TODO(lesson7) in aio.cpp.
class TaskBase {
  public:
    TaskBase(const TaskBase&) = delete;
    TaskBase& operator=(const TaskBase&) = delete;
    TaskBase(TaskBase&&) = delete;
    TaskBase& operator=(TaskBase&&) = delete;
    // Destroys the root frame (the derived TaskState owns it through its Task<T>). Only release()
    // deletes a task.
    virtual ~TaskBase() = default;

    // Registers with the run() in progress on this thread and puts the first step on the ready
    // list (scheduled at once, like asyncio.create_task). Throws std::logic_error outside run().
    void schedule();
    // Asks the task to stop. A parked task is woken at once and its leaf throws CancelledError;
    // a running or ready task gets it at its next suspension point. Returns false (and does
    // nothing) if the task is already done.
    bool cancel() noexcept;
    bool done() const noexcept { return state_ == State::done; }
    // Done, and the body ended with CancelledError.
    bool cancelled() const noexcept;
    // What the body threw (null if it returned). Only meaningful once done().
    std::exception_ptr error() const noexcept { return promise_.error_; }
    // Someone took (or deliberately discarded) the result: no "never awaited" leak.
    void mark_observed() noexcept { observed_ = true; }
    bool observed() const noexcept { return observed_; }
    SourceLocation where() const noexcept { return where_; }

    // Done listeners: added while pending; on_done runs in the order they were added.
    void add_listener(DoneListener& l) noexcept;
    void remove_listener(DoneListener& l) noexcept;

    // Shared ownership (single-threaded count).
    void add_ref() noexcept { ++refs_; }
    void release() noexcept;

  protected:
    TaskBase(std::coroutine_handle<> root, PromiseBase& promise, SourceLocation where) noexcept
        : root_(root), promise_(promise), where_(where), resume_at_(root) {
        promise_.owner_ = this;
    }

  private:
    friend class Suspension;
    friend class Runner;
    friend class Scheduler;
    friend void final_transfer(PromiseBase& promise) noexcept;
    enum class State { ready, running, parked, done };

    void finished() noexcept;  // the root's final_suspend: mark done, tell listeners, drop the
                               // loop's reference

    std::coroutine_handle<> root_;
    PromiseBase& promise_;
    SourceLocation where_;
    std::coroutine_handle<> resume_at_;  // where the next step resumes
    Suspension* parked_at_ = nullptr;    // the leaf it waits at, while parked
    State state_ = State::ready;
    bool started_ = false;         // the first step has run (a task cancelled before it never runs)
    bool cancel_pending_ = false;  // cancel() while ready or running: due at the next suspension
    bool observed_ = false;
    std::size_t refs_ = 1;  // the handle's; the loop adds its own in schedule()
    DoneListener* listeners_head_ = nullptr;
    DoneListener* listeners_tail_ = nullptr;
    // The run's list of live tasks (for shutdown and the leak report).
    TaskBase* live_prev_ = nullptr;
    TaskBase* live_next_ = nullptr;
};

// The awaiter of a scheduled task's completion (co_await on a TaskHandle). Cancelling the waiting
// task only stops the wait: the awaited task goes on (cancel it yourself if you want it gone).
// TODO(lesson7) in aio.cpp (await_suspend, on_done, on_cancel).
class DoneAwaiter final : public Suspension, public DoneListener {
  public:
    explicit DoneAwaiter(TaskBase& target) noexcept : target_(target) {}
    DoneAwaiter(const DoneAwaiter&) = delete;
    DoneAwaiter& operator=(const DoneAwaiter&) = delete;
    DoneAwaiter(DoneAwaiter&&) = delete;
    DoneAwaiter& operator=(DoneAwaiter&&) = delete;
    ~DoneAwaiter() override = default;

    bool await_ready() const noexcept { return target_.done(); }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() const { throw_if_cancelled(); }
    void on_done(TaskBase& task) noexcept override;

  private:
    void on_cancel() noexcept override;
    TaskBase& target_;
};

// One run(): owns the uv_loop_t and the ready list. TODO(lesson7) in aio.cpp; its state is yours
// to design (Impl).
class Runner {
  public:
    // Makes a fresh loop current on this thread. Throws std::logic_error if a run() is already in
    // progress on this thread, std::runtime_error if libuv fails (with uv_strerror's text).
    explicit Runner(RunOptions options);
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;
    Runner(Runner&&) = delete;
    Runner& operator=(Runner&&) = delete;
    // Shutdown: cancels every task still pending and lets them finish (reporting each), reports
    // tasks never awaited, reports and closes every handle still open, runs the close callbacks,
    // closes the loop, and makes "no run() in progress" true again.
    ~Runner();
    // Runs the loop until `main` is done.
    void run_until_done(TaskBase& main);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// gather's bookkeeping on type-erased tasks (the caller keeps them alive). TODO(lesson7) in
// aio.cpp. Waits until every task is done. On the first failure (an exception other than the
// awaiting task's own cancellation), cancels the others, waits until they are all done, and
// rethrows that first failure. If the awaiting task is cancelled, cancels them all, waits for them,
// and throws CancelledError. Marks every task observed.
Task<void> gather_all(std::vector<TaskBase*> tasks);

// wait_for's bookkeeping. TODO(lesson7) in aio.cpp. Waits until `task` is done or `timeout`
// passes (a uv_timer_t, closed on every path). On timeout: cancels the task, waits until it is
// done, throws TimeoutError ("lesson7::aio::wait_for: the task did not finish within N ms"). If
// the awaiting task is cancelled: cancels the task too, waits for it, throws CancelledError.
// Returns normally when the task finished in time (its result or error is then the caller's).
Task<void> wait_done_or_timeout(TaskBase& task, std::chrono::nanoseconds timeout);

// as_completed's bookkeeping: hands out indices in the order the tasks finish, without polling.
// TODO(lesson7) in aio.cpp; the private state is yours to design (Impl).
class CompletionOrder {
  public:
    explicit CompletionOrder(std::vector<TaskBase*> tasks);
    CompletionOrder(const CompletionOrder&) = delete;
    CompletionOrder& operator=(const CompletionOrder&) = delete;
    CompletionOrder(CompletionOrder&&) noexcept;
    CompletionOrder& operator=(CompletionOrder&&) noexcept;
    ~CompletionOrder();
    // The index (into the vector given) of the next task to finish; waits if none has finished
    // since the last call. Throws std::logic_error once every index was handed out, and
    // CancelledError if the awaiting task is cancelled (no index is lost: the next call gets it).
    Task<std::size_t> next();
    std::size_t remaining() const noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Completion<T>'s part that does not depend on T. TODO(lesson7) in aio.cpp.
class CompletionBase {
  public:
    CompletionBase() = default;
    CompletionBase(const CompletionBase&) = delete;
    CompletionBase& operator=(const CompletionBase&) = delete;
    CompletionBase(CompletionBase&&) = delete;
    CompletionBase& operator=(CompletionBase&&) = delete;
    bool done() const noexcept { return done_; }

  protected:
    // A waiter still parked when the Completion is destroyed is woken with std::logic_error.
    ~CompletionBase();
    // Marks done and wakes the waiter. Throws std::logic_error if already done.
    void finish(std::exception_ptr error);
    // Suspends until done (at once if done already), then rethrows the error if any. If the
    // awaiting task is cancelled first: runs on_cancel (if set), then throws CancelledError.
    // Throws std::logic_error if another task is already waiting.
    Task<void> wait_done(std::function<void()> on_cancel);

  private:
    class Awaiter;
    bool done_ = false;
    std::exception_ptr error_;
    Suspension* waiter_ = nullptr;
};

template <class T>
struct ValueOf {
    using type = T;
};
template <>
struct ValueOf<void> {
    using type = std::monostate;
};

template <class T>
class TaskState;

}  // namespace detail

// A lazy coroutine returning T (or void). Move-only. `co_await std::move(task)` runs it to
// completion from the awaiting coroutine and gives its value or rethrows its exception. A Task
// destroyed without being awaited never runs. Not awaitable twice.
template <class T>
class [[nodiscard]] Task {
    static_assert(!std::is_reference_v<T>,
                  "lesson7::aio::Task<T>: T must be a value type (return a pointer or a "
                  "std::reference_wrapper instead of a reference)");

  public:
    struct promise_type : detail::PromiseBase {
        Task get_return_object() noexcept {
            return Task(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        template <class U>
        void return_value(U&& v) {
            value_.emplace(std::forward<U>(v));
        }
        std::optional<T> value_;
    };

    Task(Task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
    Task& operator=(Task&& other) noexcept {
        if (this != &other) {
            reset();
            h_ = std::exchange(other.h_, {});
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() { reset(); }

    struct Awaiter {
        std::coroutine_handle<promise_type> h;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> parent) noexcept {
            detail::start_awaited(h.promise(), h, parent);
        }
        T await_resume() {
            if (h.promise().error_) {
                std::rethrow_exception(h.promise().error_);
            }
            if constexpr (!std::is_void_v<T>) {
                auto& value = h.promise().value_;
                if (!value.has_value()) {
                    throw std::logic_error(
                        "lesson7::aio::Task: the task ended with neither a value nor an exception");
                }
                return std::move(*value);
            }
        }
    };
    Awaiter operator co_await() && {
        if (!h_ || h_.done()) {
            throw std::logic_error("lesson7::aio::Task: awaited twice, or after being moved from");
        }
        return Awaiter{h_};
    }

  private:
    template <class U>
    friend class detail::TaskState;
    explicit Task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
    void reset() noexcept {
        if (h_) {
            h_.destroy();
            h_ = {};
        }
    }
    std::coroutine_handle<promise_type> h_;
};

template <>
struct Task<void>::promise_type : detail::PromiseBase {
    Task get_return_object() noexcept {
        return Task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    void return_void() const noexcept {}
};

namespace detail {

// The scheduled task that owns a Task<T>'s frame.
template <class T>
class TaskState final : public TaskBase {
  public:
    explicit TaskState(Task<T> task, SourceLocation where) noexcept
        : TaskBase(task.h_, task.h_.promise(), where), task_(std::move(task)) {}
    // The result once done: rethrows what the body threw. Moves the value out (once).
    T take() {
        mark_observed();
        auto& p = task_.h_.promise();
        if (p.error_) {
            std::rethrow_exception(p.error_);
        }
        if constexpr (!std::is_void_v<T>) {
            if (!p.value_) {
                throw std::logic_error("lesson7::aio::TaskHandle: result taken twice");
            }
            T v = std::move(*p.value_);
            p.value_.reset();
            return v;
        }
    }

    ~TaskState() override = default;
    TaskState(const TaskState&) = delete;
    TaskState& operator=(const TaskState&) = delete;
    TaskState(TaskState&&) = delete;
    TaskState& operator=(TaskState&&) = delete;

  private:
    Task<T> task_;
};

}  // namespace detail

// A scheduled task made by create_task(): it runs on the loop whether or not anyone awaits it
// (like asyncio.Task). Move-only; dropping the handle does not stop the task (the loop keeps it
// until it is done), but a task whose result nobody ever takes is reported at shutdown.
// `co_await handle` waits for it and gives its value or rethrows its exception.
template <class T>
class [[nodiscard]] TaskHandle {
  public:
    TaskHandle() = default;
    TaskHandle(TaskHandle&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    TaskHandle& operator=(TaskHandle&& o) noexcept {
        if (this != &o) {
            reset();
            s_ = std::exchange(o.s_, nullptr);
        }
        return *this;
    }
    TaskHandle(const TaskHandle&) = delete;
    TaskHandle& operator=(const TaskHandle&) = delete;
    ~TaskHandle() { reset(); }

    bool valid() const noexcept { return s_ != nullptr; }
    bool done() const noexcept { return s_ != nullptr && s_->done(); }
    bool cancelled() const noexcept { return s_ != nullptr && s_->cancelled(); }
    // See detail::TaskBase::cancel(): true if the request was made (the task was not done).
    bool cancel() noexcept { return s_ != nullptr && s_->cancel(); }
    // The result of a done task (value, or rethrows). std::logic_error if not done yet.
    T result() {
        if (!s_->done()) {
            throw std::logic_error("lesson7::aio::TaskHandle::result: the task is not done yet");
        }
        return s_->take();
    }
    // Say that nobody will take the result (no leak report for it).
    void discard() noexcept { s_->mark_observed(); }
    detail::TaskBase& base() const noexcept { return *s_; }

    struct Awaiter {
        detail::DoneAwaiter done;
        detail::TaskState<T>* s;
        bool await_ready() const noexcept { return done.await_ready(); }
        bool await_suspend(std::coroutine_handle<> h) { return done.await_suspend(h); }
        T await_resume() {
            done.await_resume();
            return s->take();
        }
    };
    // `co_await handle` (or `co_await std::move(handle)`): the handle stays valid afterwards, so
    // done() and cancelled() can still be asked; the value is moved out, so await it once.
    Awaiter operator co_await() {
        if (s_ == nullptr) {
            throw std::logic_error("lesson7::aio::TaskHandle: awaiting an empty handle");
        }
        return Awaiter{detail::DoneAwaiter(*s_), s_};
    }

  private:
    template <class U>
    friend TaskHandle<U> create_task(Task<U> task, SourceLocation where);
    explicit TaskHandle(detail::TaskState<T>* s) noexcept : s_(s) {}
    void reset() noexcept {
        if (s_ != nullptr) {
            std::exchange(s_, nullptr)->release();
        }
    }
    detail::TaskState<T>* s_ = nullptr;
};

// Schedules `task` at once on the current run's loop (like asyncio.create_task) and returns its
// handle. `where` is what the leak report names. Throws std::logic_error outside run().
template <class T>
TaskHandle<T> create_task(Task<T> task, SourceLocation where = SourceLocation::current()) {
    auto* state = new detail::TaskState<T>(std::move(task), where);
    TaskHandle<T> handle(state);
    state->schedule();
    return handle;
}

// Runs `main` on a fresh loop owned by this call until it is done, then shuts down (see
// detail::Runner: pending tasks cancelled, leaks reported through options.on_leak, every handle
// closed, the loop closed) and returns main's value or rethrows its exception. One run() per
// thread at a time (std::logic_error otherwise).
template <class T>
T run(Task<T> main, RunOptions options = {}) {
    detail::Runner runner(std::move(options));
    TaskHandle<T> handle = create_task(std::move(main));
    runner.run_until_done(handle.base());
    return handle.result();
}

// Waits for every task; the results come back in input order. Fail-fast: on the first failure the
// others are cancelled, gather waits until they are all done, then rethrows that failure (see
// detail::gather_all). Task<void> results are std::monostate.
template <class T>
Task<std::vector<typename detail::ValueOf<T>::type>> gather(std::vector<TaskHandle<T>> tasks) {
    std::vector<detail::TaskBase*> bases;
    bases.reserve(tasks.size());
    for (auto& t : tasks) {
        bases.push_back(&t.base());
    }
    co_await detail::gather_all(std::move(bases));
    std::vector<typename detail::ValueOf<T>::type> out;
    out.reserve(tasks.size());
    for (auto& t : tasks) {
        if constexpr (std::is_void_v<T>) {
            t.result();
            out.emplace_back();
        } else {
            out.push_back(t.result());
        }
    }
    co_return out;
}

// The same for lazy tasks: each is scheduled first (create_task), in input order.
template <class T>
Task<std::vector<typename detail::ValueOf<T>::type>> gather(
    std::vector<Task<T>> tasks, SourceLocation where = SourceLocation::current()) {
    std::vector<TaskHandle<T>> handles;
    handles.reserve(tasks.size());
    for (auto& t : tasks) {
        handles.push_back(create_task(std::move(t), where));
    }
    co_return co_await gather(std::move(handles));
}

// asyncio.gather(a(), b(), ...) for tasks of different types: a tuple of the results in argument
// order (std::monostate for void).
template <class... T>
Task<std::tuple<typename detail::ValueOf<T>::type...>> gather(Task<T>... tasks) {
    // Braces, not make_tuple(...): a braced list is evaluated left to right, so the tasks are
    // scheduled in argument order.
    std::tuple<TaskHandle<T>...> handles{create_task(std::move(tasks))...};
    std::vector<detail::TaskBase*> bases = std::apply(
        [](auto&... h) { return std::vector<detail::TaskBase*>{&h.base()...}; }, handles);
    co_await detail::gather_all(std::move(bases));
    co_return std::apply(
        [](auto&... h) {
            auto one = [](auto& handle) {
                using R = decltype(handle.result());
                if constexpr (std::is_void_v<R>) {
                    handle.result();
                    return std::monostate{};
                } else {
                    return handle.result();
                }
            };
            return std::tuple<typename detail::ValueOf<T>::type...>{one(h)...};
        },
        handles);
}

// Waits for `task` at most `timeout`: its value (or its exception) if it finished in time;
// otherwise it is cancelled and TimeoutError is thrown (see detail::wait_done_or_timeout).
template <class T>
Task<T> wait_for(TaskHandle<T> task, std::chrono::nanoseconds timeout) {
    co_await detail::wait_done_or_timeout(task.base(), timeout);
    co_return task.result();
}
template <class T>
Task<T> wait_for(Task<T> task, std::chrono::nanoseconds timeout,
                 SourceLocation where = SourceLocation::current()) {
    co_return co_await wait_for(create_task(std::move(task), where), timeout);
}

// asyncio.as_completed: results in the order the tasks finish.
//   auto order = as_completed(std::move(handles));
//   while (order.remaining() > 0) { int v = co_await order.next(); ... }
template <class T>
class AsCompleted {
  public:
    explicit AsCompleted(std::vector<TaskHandle<T>> tasks)
        : tasks_(std::move(tasks)), order_(bases(tasks_)) {}
    std::size_t remaining() const noexcept { return order_.remaining(); }
    // The index (into the input) of the next task to finish; its result is then
    // tasks()[i].result().
    Task<std::size_t> next_index() { return order_.next(); }
    // The value of the next task to finish, or its exception rethrown.
    Task<T> next() {
        const std::size_t i = co_await order_.next();
        co_return tasks_[i].result();
    }
    std::vector<TaskHandle<T>>& tasks() noexcept { return tasks_; }

  private:
    static std::vector<detail::TaskBase*> bases(std::vector<TaskHandle<T>>& tasks) {
        std::vector<detail::TaskBase*> out;
        out.reserve(tasks.size());
        for (auto& t : tasks) {
            out.push_back(&t.base());
        }
        return out;
    }
    std::vector<TaskHandle<T>> tasks_;
    detail::CompletionOrder order_;
};

template <class T>
AsCompleted<T> as_completed(std::vector<TaskHandle<T>> tasks) {
    return AsCompleted<T>(std::move(tasks));
}
template <class T>
AsCompleted<T> as_completed(std::vector<Task<T>> tasks,
                            SourceLocation where = SourceLocation::current()) {
    std::vector<TaskHandle<T>> handles;
    handles.reserve(tasks.size());
    for (auto& t : tasks) {
        handles.push_back(create_task(std::move(t), where));
    }
    return AsCompleted<T>(std::move(handles));
}

// The bridge from callback code to a coroutine: a libuv or libcurl callback (on the loop thread)
// calls set_value / set_exception; one task co_awaits wait(). One-shot, loop thread only, neither
// copyable nor movable (the waiting coroutine refers to it): keep it where the callback can find
// it (the transfer's struct) and destroy it only after both sides are over.
//
//   Completion<int> c;                               // e.g. in a struct whose pointer is in
//   start_operation(&c);                             // handle->data; the callback does
//   int v = co_await c.wait([&] { abort_op(); });    // c.set_value(42) later
//
// wait(on_cancel) is a Task<T>, so it composes: wait_for(c.wait(...), 5s). If the waiting task is
// cancelled before set_*, on_cancel runs (on the loop thread, inside cancel()) so the producer can
// abort its operation; the co_await then throws CancelledError. A later set_* is then harmless.
template <class T = void>
class Completion : public detail::CompletionBase {
  public:
    Completion() = default;
    Completion(const Completion&) = delete;
    Completion& operator=(const Completion&) = delete;
    Completion(Completion&&) = delete;
    Completion& operator=(Completion&&) = delete;
    ~Completion() = default;

    // Throws std::logic_error if already done.
    void set_value(T v) {
        if (done()) {
            throw std::logic_error("lesson7::aio::Completion::set_value: already done");
        }
        value_.emplace(std::move(v));
        finish(nullptr);
    }
    void set_exception(std::exception_ptr e) { finish(std::move(e)); }
    // Suspends until set_*; gives the value (moved out: wait once) or rethrows the exception.
    Task<T> wait(std::function<void()> on_cancel = {}) {
        co_await wait_done(std::move(on_cancel));
        if (!value_) {
            throw std::logic_error("lesson7::aio::Completion::wait: the value was already taken");
        }
        T v = std::move(*value_);
        value_.reset();
        co_return v;
    }

  private:
    std::optional<T> value_;
};

template <>
class Completion<void> : public detail::CompletionBase {
  public:
    Completion() = default;
    Completion(const Completion&) = delete;
    Completion& operator=(const Completion&) = delete;
    Completion(Completion&&) = delete;
    Completion& operator=(Completion&&) = delete;
    ~Completion() = default;

    void set_value() { finish(nullptr); }
    void set_exception(std::exception_ptr e) { finish(std::move(e)); }
    Task<void> wait(std::function<void()> on_cancel = {}) {
        return wait_done(std::move(on_cancel));
    }
};

}  // namespace lesson7::aio

#include "lesson7/aio_sync.hpp"  // IWYU pragma: export
