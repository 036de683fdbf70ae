// Reference solution for lesson 7.3, task 2: coroutine tasks on libuv (scheduling, timers,
// cancellation, run and shutdown, the leak report, gather / as_completed / wait_for bookkeeping).
#include "lesson7/aio.hpp"

#include <uv.h>

#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lesson7::aio {
namespace detail {

// The state of one run(): the loop, the ready list, the live tasks, the leaks found so far.
class Scheduler {
  public:
    explicit Scheduler(RunOptions options) : options_(std::move(options)) {}

    static Scheduler* current() noexcept { return current_; }
    static Scheduler& current_or_throw(const char* who) {
        if (current_ == nullptr) {
            throw std::logic_error(std::string("lesson7::aio::") + who +
                                   ": no run() in progress on this thread; call it from a "
                                   "coroutine that lesson7::aio::run() is running");
        }
        return *current_;
    }

    void open() {
        if (current_ != nullptr) {
            throw std::logic_error(
                "lesson7::aio::run: a run() is already in progress on this thread; nest tasks "
                "with create_task() instead of calling run() again");
        }
        check(uv_loop_init(&loop_), "uv_loop_init");
        check(uv_idle_init(&loop_, &idle_), "uv_idle_init");
        idle_.data = this;
        current_ = this;
    }

    uv_loop_t& loop() noexcept { return loop_; }
    // The coroutine that the running step resumes once the current one has suspended.
    void run_next(std::coroutine_handle<> h) noexcept { next_ = h; }
    TaskBase* running() const noexcept { return running_; }

    // A task can run: queue it, and keep the idle handle on so that the loop does not block in
    // poll while there is work.
    void make_ready(TaskBase& t) noexcept {
        ready_.push_back(&t);
        if (!idle_on_) {
            idle_on_ = true;
            uv_idle_start(&idle_, on_idle);
        }
    }

    void add_live(TaskBase& t) noexcept {
        t.live_next_ = live_head_;
        if (live_head_ != nullptr) {
            live_head_->live_prev_ = &t;
        }
        live_head_ = &t;
    }
    void remove_live(TaskBase& t) noexcept {
        if (t.live_prev_ != nullptr) {
            t.live_prev_->live_next_ = t.live_next_;
        } else if (live_head_ == &t) {
            live_head_ = t.live_next_;
        }
        if (t.live_next_ != nullptr) {
            t.live_next_->live_prev_ = t.live_prev_;
        }
        t.live_prev_ = t.live_next_ = nullptr;
    }

    void track(const uv_handle_t* h, SourceLocation where) { handles_[h] = where; }

    void leak(Leak::Kind kind, std::string message, SourceLocation where) {
        leaks_.push_back(Leak{kind, std::move(message), where});
    }

    void run_until_done(TaskBase& main) {
        main_ = &main;
        while (!main.done()) {
            uv_run(&loop_, UV_RUN_DEFAULT);
            if (!main.done() && ready_.empty() && uv_loop_alive(&loop_) == 0) {
                throw std::logic_error(
                    "lesson7::aio::run: main is waiting but nothing can wake it (no ready task, "
                    "no timer, no open handle): a Completion never set, or a Queue or Semaphore "
                    "wait that nobody will satisfy?");
            }
        }
    }

    void task_finished(TaskBase& t) noexcept {
        remove_live(t);
        if (&t == main_) {
            uv_stop(&loop_);
        }
    }

    // The end of run(): tasks, then handles, then the loop.
    void shutdown() noexcept {
        // Pending tasks are cancelled and run until they finish; one that swallows the
        // cancellation and waits again gets another, a few times, and is then abandoned.
        for (int round = 0; round < 4 && live_head_ != nullptr; ++round) {
            std::vector<TaskBase*> live;
            for (TaskBase* t = live_head_; t != nullptr; t = t->live_next_) {
                live.push_back(t);
            }
            for (TaskBase* t : live) {
                if (round == 0) {
                    report_pending(*t);
                }
                t->cancel();
            }
            for (int spin = 0; spin < 1000 && !ready_.empty(); ++spin) {
                uv_run(&loop_, UV_RUN_NOWAIT);
            }
        }
        while (live_head_ != nullptr) {
            abandon(*live_head_);
        }
        // Every handle still open: report it (with where it was made, if known) and close it.
        uv_walk(&loop_, on_walk, this);
        uv_close(reinterpret_cast<uv_handle_t*>(&idle_), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);  // runs the close callbacks
        if (uv_loop_close(&loop_) != 0) {
            static_cast<void>(std::fprintf(stderr,
                                           "lesson7::aio::run: uv_loop_close failed: a handle "
                                           "or request is still active after shutdown\n"));
        }
        current_ = nullptr;
        for (const Leak& l : leaks_) {
            try {
                if (options_.on_leak) {
                    options_.on_leak(l);
                } else {
                    static_cast<void>(
                        std::fprintf(stderr, "lesson7::aio: leak: %s\n", l.message.c_str()));
                }
            } catch (...) {
                static_cast<void>(
                    std::fprintf(stderr, "lesson7::aio: the on_leak callback threw; leak: %s\n",
                                 l.message.c_str()));
            }
        }
    }

    static std::string place(SourceLocation where) {
        if (where.line() == 0) {
            return "an unknown place";
        }
        return std::string(where.file_name()) + ":" + std::to_string(where.line()) + " (in " +
               where.function_name() + ")";
    }

  private:
    static void check(int rc, const char* what) {
        if (rc != 0) {
            throw std::runtime_error(std::string("lesson7::aio::run: ") + what +
                                     " failed: " + uv_strerror(rc));
        }
    }

    // One drain of the ready list. Tasks woken during it run in the same drain (cheap hand-offs),
    // but at most max_steps steps before the loop polls for I/O again (no starvation).
    static void on_idle(uv_idle_t* idle) {
        auto* self = static_cast<Scheduler*>(idle->data);
        constexpr int max_steps = 4096;
        for (int n = 0; n < max_steps && !self->ready_.empty(); ++n) {
            TaskBase* t = self->ready_.front();
            self->ready_.pop_front();
            self->step(*t);
        }
        if (self->ready_.empty()) {
            self->idle_on_ = false;
            uv_idle_stop(idle);
        }
    }

    void step(TaskBase& t) noexcept {
        t.add_ref();  // the step may finish the task; keep it until the step is over
        if (!t.started_ && t.cancel_pending_) {
            // Cancelled before it ever ran: like asyncio, the body never starts.
            t.promise_.error_ = std::make_exception_ptr(CancelledError{});
            t.finished();
        } else {
            t.started_ = true;
            t.state_ = TaskBase::State::running;
            running_ = &t;
            // The trampoline: each hand-off (co_await of a Task, its end) suspends and names the
            // next coroutine, resumed from here, so the stack stays flat however deep the chain.
            std::coroutine_handle<> h = t.resume_at_;
            while (h) {
                h.resume();
                h = std::exchange(next_, {});
            }
            running_ = nullptr;
        }
        t.release();
    }

    void report_pending(TaskBase& t) {
        t.mark_observed();
        leak(Leak::Kind::task_pending,
             "task created at " + place(t.where()) +
                 " was still pending when main returned; it was cancelled at shutdown. Await it "
                 "(or cancel it and await it) before main returns.",
             t.where());
    }

    // A task that would not end: drop it from the loop without running it again.
    void abandon(TaskBase& t) noexcept {
        if (t.parked_at_ != nullptr) {
            t.parked_at_->on_cancel();
            t.parked_at_->state_ = Suspension::State::cancelled;
            t.parked_at_ = nullptr;
        }
        remove_live(t);
        t.state_ = TaskBase::State::done;
        t.release();  // the loop's reference
    }

    static void on_walk(uv_handle_t* h, void* arg) {
        auto* self = static_cast<Scheduler*>(arg);
        if (h == reinterpret_cast<uv_handle_t*>(&self->idle_) || uv_is_closing(h) != 0) {
            return;
        }
        const auto it = self->handles_.find(h);
        const SourceLocation where =
            it != self->handles_.end() ? it->second : SourceLocation{};
        std::string what = std::string("a uv_") + uv_handle_type_name(uv_handle_get_type(h)) +
                           "_t " +
                           (where.line() != 0 ? "made at " + place(where)
                                              : std::string("of unknown origin (pass it to "
                                                            "lesson7::aio::track_handle to learn "
                                                            "where it was made)"));
        self->leak(Leak::Kind::handle_never_closed,
                   what +
                       " was never closed; run() closed it. uv_close every handle you open and "
                       "free it in its close callback.",
                   where);
        uv_close(h, nullptr);
    }

    static thread_local Scheduler* current_;
    RunOptions options_;
    uv_loop_t loop_{};
    uv_idle_t idle_{};
    bool idle_on_ = false;
    std::deque<TaskBase*> ready_;
    TaskBase* running_ = nullptr;
    std::coroutine_handle<> next_;
    TaskBase* main_ = nullptr;
    TaskBase* live_head_ = nullptr;
    std::unordered_map<const uv_handle_t*, SourceLocation> handles_;
    std::vector<Leak> leaks_;
};

thread_local Scheduler* Scheduler::current_ = nullptr;

void start_awaited(PromiseBase& child, std::coroutine_handle<> child_handle,
                   std::coroutine_handle<> parent) noexcept {
    child.continuation_ = parent;
    Scheduler::current()->run_next(child_handle);
}

void final_transfer(PromiseBase& promise) noexcept {
    if (promise.continuation_) {
        Scheduler::current()->run_next(promise.continuation_);
    } else if (promise.owner_ != nullptr) {
        promise.owner_->finished();
    }
}

bool Suspension::park(std::coroutine_handle<> h) {
    Scheduler& s = Scheduler::current_or_throw("co_await");
    TaskBase* t = s.running();
    if (t == nullptr) {
        throw std::logic_error(
            "lesson7::aio: a co_await that waits must run inside a task of run() (run's main or a "
            "create_task task)");
    }
    if (t->cancel_pending_) {
        t->cancel_pending_ = false;
        state_ = State::cancelled;
        return false;
    }
    state_ = State::parked;
    task_ = t;
    resume_at_ = h;
    t->state_ = TaskBase::State::parked;
    t->parked_at_ = this;
    t->resume_at_ = h;
    return true;
}

void Suspension::wake() noexcept {
    if (state_ != State::parked) {
        return;
    }
    state_ = State::woken;
    task_->parked_at_ = nullptr;
    task_->state_ = TaskBase::State::ready;
    Scheduler::current()->make_ready(*task_);
}

void Suspension::throw_if_cancelled() const {
    if (state_ == State::cancelled) {
        throw CancelledError{};
    }
}

void WaitList::push_back(Suspension& s) noexcept {
    s.list_ = this;
    s.next_ = nullptr;
    s.prev_ = tail_;
    if (tail_ != nullptr) {
        tail_->next_ = &s;
    } else {
        head_ = &s;
    }
    tail_ = &s;
    ++size_;
}

Suspension* WaitList::pop_front() noexcept {
    Suspension* s = head_;
    if (s != nullptr) {
        remove(*s);
    }
    return s;
}

void WaitList::remove(Suspension& s) noexcept {
    if (s.list_ != this) {
        return;
    }
    (s.prev_ != nullptr ? s.prev_->next_ : head_) = s.next_;
    (s.next_ != nullptr ? s.next_->prev_ : tail_) = s.prev_;
    s.prev_ = s.next_ = nullptr;
    s.list_ = nullptr;
    --size_;
}

DoneListener::~DoneListener() {
    if (target_ != nullptr) {
        target_->remove_listener(*this);
    }
}

void TaskBase::schedule() {
    Scheduler& s = Scheduler::current_or_throw("create_task");
    add_ref();  // the loop's, until the task is done
    s.add_live(*this);
    s.make_ready(*this);
}

bool TaskBase::cancel() noexcept {
    if (state_ == State::done) {
        return false;
    }
    if (state_ == State::parked && parked_at_ != nullptr) {
        // Mark first, then let the leaf undo its registration: an event that the producer
        // delivers from inside on_cancel() then finds the suspension no longer parked.
        Suspension* s = std::exchange(parked_at_, nullptr);
        s->state_ = Suspension::State::cancelled;
        state_ = State::ready;
        s->on_cancel();
        Scheduler::current()->make_ready(*this);
    } else {
        cancel_pending_ = true;
    }
    return true;
}

bool TaskBase::cancelled() const noexcept {
    if (state_ != State::done || !promise_.error_) {
        return false;
    }
    try {
        std::rethrow_exception(promise_.error_);
    } catch (const CancelledError&) {
        return true;
    } catch (...) {
        return false;
    }
}

void TaskBase::add_listener(DoneListener& l) noexcept {
    l.target_ = this;
    l.next_ = nullptr;
    l.prev_ = listeners_tail_;
    if (listeners_tail_ != nullptr) {
        listeners_tail_->next_ = &l;
    } else {
        listeners_head_ = &l;
    }
    listeners_tail_ = &l;
}

void TaskBase::remove_listener(DoneListener& l) noexcept {
    if (l.target_ != this) {
        return;
    }
    (l.prev_ != nullptr ? l.prev_->next_ : listeners_head_) = l.next_;
    (l.next_ != nullptr ? l.next_->prev_ : listeners_tail_) = l.prev_;
    l.prev_ = l.next_ = nullptr;
    l.target_ = nullptr;
}

void TaskBase::release() noexcept {
    if (--refs_ != 0) {
        return;
    }
    if (!observed_) {
        std::string message = "task created at " + Scheduler::place(where_) +
                              " was never awaited: co_await its handle, gather it, or call "
                              "discard()";
        if (promise_.error_) {
            try {
                std::rethrow_exception(promise_.error_);
            } catch (const CancelledError&) {
                message += " (it was cancelled)";
            } catch (const std::exception& e) {
                message += "; its exception was lost: " + std::string(e.what());
            } catch (...) {
                message += "; its exception (not a std::exception) was lost";
            }
        }
        if (Scheduler* s = Scheduler::current(); s != nullptr) {
            s->leak(Leak::Kind::task_never_awaited, std::move(message), where_);
        } else {
            static_cast<void>(std::fprintf(stderr, "lesson7::aio: leak: %s\n", message.c_str()));
        }
    }
    delete this;
}

void TaskBase::finished() noexcept {
    state_ = State::done;
    Scheduler::current()->task_finished(*this);
    while (listeners_head_ != nullptr) {
        DoneListener* l = listeners_head_;
        remove_listener(*l);
        l->on_done(*this);
    }
    release();  // the loop's reference; the running step still holds one
}

bool DoneAwaiter::await_suspend(std::coroutine_handle<> h) {
    if (!park(h)) {
        return false;
    }
    target_.add_listener(*this);
    return true;
}

void DoneAwaiter::on_done(TaskBase& /*task*/) noexcept {
    wake();
}

void DoneAwaiter::on_cancel() noexcept {
    target_.remove_listener(*this);
}

struct Runner::Impl final : Scheduler {
    explicit Impl(RunOptions options) : Scheduler(std::move(options)) {}
};

Runner::Runner(RunOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
    impl_->open();
}

Runner::~Runner() {
    impl_->shutdown();
}

void Runner::run_until_done(TaskBase& main) {
    impl_->run_until_done(main);
}

}  // namespace detail

uv_loop_t& current_loop() {
    return detail::Scheduler::current_or_throw("current_loop").loop();
}

void track_handle(const uv_handle_t* handle, SourceLocation where) {
    detail::Scheduler::current_or_throw("track_handle").track(handle, where);
}

namespace {

// A uv_timer_t on the heap: libuv may touch it until its close callback, which is what frees it
// (freeing it at uv_close time would be a use after free inside libuv).
struct Timer {
    uv_timer_t handle{};
    void (*fire)(void* owner) = nullptr;
    void* owner = nullptr;
};

void on_timer(uv_timer_t* t) {
    auto* timer = static_cast<Timer*>(t->data);
    timer->fire(timer->owner);
}

Timer* start_timer(std::chrono::nanoseconds d, void (*fire)(void*), void* owner) {
    const auto ns = d.count() <= 0 ? 0 : d.count();
    const auto ms = static_cast<std::uint64_t>((ns + 999'999) / 1'000'000);
    auto timer = std::make_unique<Timer>();
    timer->fire = fire;
    timer->owner = owner;
    timer->handle.data = timer.get();
    uv_timer_init(&current_loop(), &timer->handle);
    uv_timer_start(&timer->handle, on_timer, ms, 0);
    return timer.release();
}

void close_timer(Timer*& timer) noexcept {
    if (timer == nullptr) {
        return;
    }
    uv_timer_stop(&timer->handle);
    uv_close(reinterpret_cast<uv_handle_t*>(&std::exchange(timer, nullptr)->handle),
             [](uv_handle_t* h) { delete static_cast<Timer*>(h->data); });
}

class SleepAwaiter final : public detail::Suspension {
  public:
    explicit SleepAwaiter(std::chrono::nanoseconds d) noexcept : d_(d) {}
    SleepAwaiter(const SleepAwaiter&) = delete;
    SleepAwaiter& operator=(const SleepAwaiter&) = delete;
    SleepAwaiter(SleepAwaiter&&) = delete;
    SleepAwaiter& operator=(SleepAwaiter&&) = delete;
    ~SleepAwaiter() = default;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!park(h)) {
            return false;
        }
        timer_ = start_timer(d_, fire, this);
        return true;
    }
    void await_resume() const { throw_if_cancelled(); }

  private:
    static void fire(void* self) {
        auto* me = static_cast<SleepAwaiter*>(self);
        close_timer(me->timer_);
        me->wake();
    }
    // The cancelled task's timer must not keep running (nor keep the loop alive).
    void on_cancel() noexcept override { close_timer(timer_); }

    std::chrono::nanoseconds d_;
    Timer* timer_ = nullptr;
};

// Waits for a task to finish or a timer to fire, whichever comes first.
class DoneOrTimeout final : public detail::Suspension, public detail::DoneListener {
  public:
    DoneOrTimeout(detail::TaskBase& target, std::chrono::nanoseconds timeout) noexcept
        : target_(target), timeout_(timeout) {}
    DoneOrTimeout(const DoneOrTimeout&) = delete;
    DoneOrTimeout& operator=(const DoneOrTimeout&) = delete;
    DoneOrTimeout(DoneOrTimeout&&) = delete;
    DoneOrTimeout& operator=(DoneOrTimeout&&) = delete;
    ~DoneOrTimeout() = default;

    bool await_ready() const noexcept { return target_.done(); }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!park(h)) {
            return false;
        }
        target_.add_listener(*this);
        timer_ = start_timer(timeout_, fire, this);
        return true;
    }
    // True if the timeout came first.
    bool await_resume() const {
        throw_if_cancelled();
        return timed_out_;
    }
    void on_done(detail::TaskBase& /*task*/) noexcept override {
        close_timer(timer_);
        wake();
    }

  private:
    static void fire(void* self) {
        auto* me = static_cast<DoneOrTimeout*>(self);
        me->timed_out_ = true;
        me->target_.remove_listener(*me);
        close_timer(me->timer_);
        me->wake();
    }
    void on_cancel() noexcept override {
        target_.remove_listener(*this);
        close_timer(timer_);
    }

    detail::TaskBase& target_;
    std::chrono::nanoseconds timeout_;
    Timer* timer_ = nullptr;
    bool timed_out_ = false;
};

}  // namespace

Task<void> sleep(std::chrono::nanoseconds d) {
    SleepAwaiter wait(d);
    co_await wait;
}

namespace detail {

Task<void> wait_done_or_timeout(TaskBase& task, std::chrono::nanoseconds timeout) {
    bool timed_out = false;
    bool cancelled = false;
    try {
        DoneOrTimeout wait(task, timeout);
        timed_out = co_await wait;
    } catch (const CancelledError&) {
        cancelled = true;
    }
    if (!timed_out && !cancelled) {
        co_return;
    }
    // Either way the task must not outlive the wait: cancel it and let it finish.
    task.cancel();
    task.mark_observed();
    DoneAwaiter until_done(task);
    co_await until_done;
    if (cancelled) {
        throw CancelledError{};
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
    throw TimeoutError("lesson7::aio::wait_for: the task did not finish within " +
                       std::to_string(ms) + " ms; it was cancelled");
}

struct CompletionOrder::Impl {
    // One listener per task that was pending when the order was made.
    class Watch final : public DoneListener {
      public:
        Watch() = default;
        Watch(const Watch&) = delete;
        Watch& operator=(const Watch&) = delete;
        Watch(Watch&&) = delete;
        Watch& operator=(Watch&&) = delete;
        ~Watch() = default;
        void on_done(TaskBase& /*task*/) noexcept override {
            owner->finished.push_back(index);
            if (owner->waiter != nullptr) {
                std::exchange(owner->waiter, nullptr)->wake();
            }
        }
        Impl* owner = nullptr;
        std::size_t index = 0;
    };

    class NextAwaiter final : public Suspension {
      public:
        explicit NextAwaiter(Impl& impl) noexcept : impl_(impl) {}
        NextAwaiter(const NextAwaiter&) = delete;
        NextAwaiter& operator=(const NextAwaiter&) = delete;
        NextAwaiter(NextAwaiter&&) = delete;
        NextAwaiter& operator=(NextAwaiter&&) = delete;
        ~NextAwaiter() = default;
        bool await_ready() const noexcept { return !impl_.finished.empty(); }
        bool await_suspend(std::coroutine_handle<> h) {
            if (impl_.waiter != nullptr) {
                throw std::logic_error(
                    "lesson7::aio::as_completed: next() called while another next() waits");
            }
            if (!park(h)) {
                return false;
            }
            impl_.waiter = this;
            return true;
        }
        void await_resume() const { throw_if_cancelled(); }

      private:
        void on_cancel() noexcept override { impl_.waiter = nullptr; }
        Impl& impl_;
    };

    std::unique_ptr<Watch[]> watches;
    std::deque<std::size_t> finished;
    std::size_t total = 0;
    std::size_t handed = 0;
    Suspension* waiter = nullptr;
};

CompletionOrder::CompletionOrder(std::vector<TaskBase*> tasks) : impl_(std::make_unique<Impl>()) {
    impl_->total = tasks.size();
    impl_->watches = std::make_unique<Impl::Watch[]>(tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        if (tasks[i]->done()) {
            impl_->finished.push_back(i);
        } else {
            impl_->watches[i].owner = impl_.get();
            impl_->watches[i].index = i;
            tasks[i]->add_listener(impl_->watches[i]);
        }
    }
}

CompletionOrder::CompletionOrder(CompletionOrder&&) noexcept = default;
CompletionOrder& CompletionOrder::operator=(CompletionOrder&&) noexcept = default;
CompletionOrder::~CompletionOrder() = default;

std::size_t CompletionOrder::remaining() const noexcept {
    return impl_ ? impl_->total - impl_->handed : 0;
}

Task<std::size_t> CompletionOrder::next() {
    Impl* impl = impl_.get();  // stable even if this CompletionOrder is moved while we wait
    if (impl == nullptr || impl->handed == impl->total) {
        throw std::logic_error("lesson7::aio::as_completed: next() called with nothing remaining");
    }
    Impl::NextAwaiter wait(*impl);
    co_await wait;
    const std::size_t i = impl->finished.front();
    impl->finished.pop_front();
    ++impl->handed;
    co_return i;
}

Task<void> gather_all(std::vector<TaskBase*> tasks) {
    for (TaskBase* t : tasks) {
        t->mark_observed();
    }
    CompletionOrder order(tasks);
    std::exception_ptr first;
    bool self_cancelled = false;
    while (order.remaining() > 0) {
        std::size_t i = 0;
        try {
            i = co_await order.next();
        } catch (const CancelledError&) {
            if (!self_cancelled) {
                self_cancelled = true;
                for (TaskBase* t : tasks) {
                    t->cancel();
                }
            }
            continue;
        }
        if (tasks[i]->error() && !first && !self_cancelled) {
            // Fail fast: the first failure stops the others; gather still waits for them so that
            // nothing outlives it.
            first = tasks[i]->error();
            for (TaskBase* t : tasks) {
                t->cancel();
            }
        }
    }
    if (self_cancelled) {
        throw CancelledError{};
    }
    if (first) {
        std::rethrow_exception(first);
    }
}

class CompletionBase::Awaiter final : public Suspension {
  public:
    Awaiter(CompletionBase& c, std::function<void()> on_cancel) noexcept
        : c_(c), on_cancel_(std::move(on_cancel)) {}
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    Awaiter(Awaiter&&) = delete;
    Awaiter& operator=(Awaiter&&) = delete;
    ~Awaiter() = default;

    bool await_ready() const noexcept { return c_.done_; }
    bool await_suspend(std::coroutine_handle<> h) {
        if (c_.waiter_ != nullptr) {
            throw std::logic_error(
                "lesson7::aio::Completion::wait: another task is already waiting on it");
        }
        if (!park(h)) {
            return false;
        }
        c_.waiter_ = this;
        return true;
    }
    void await_resume() const {
        throw_if_cancelled();
        if (broken_) {
            std::rethrow_exception(broken_);
        }
    }
    std::exception_ptr broken_;  // set when the Completion is destroyed under the waiter

  private:
    void on_cancel() noexcept override {
        c_.waiter_ = nullptr;
        if (on_cancel_) {
            try {
                on_cancel_();
            } catch (const std::exception& e) {
                static_cast<void>(std::fprintf(
                    stderr, "lesson7::aio::Completion: the on_cancel callback threw: %s\n",
                    e.what()));
            } catch (...) {
                static_cast<void>(std::fprintf(
                    stderr, "lesson7::aio::Completion: the on_cancel callback threw\n"));
            }
        }
    }
    CompletionBase& c_;
    std::function<void()> on_cancel_;
};

CompletionBase::~CompletionBase() {
    if (waiter_ != nullptr) {
        auto* w = static_cast<Awaiter*>(std::exchange(waiter_, nullptr));
        w->broken_ = std::make_exception_ptr(std::logic_error(
            "lesson7::aio::Completion: destroyed while a task was waiting on it; keep it alive "
            "until set_value or set_exception"));
        w->wake();
    }
}

void CompletionBase::finish(std::exception_ptr error) {
    if (done_) {
        throw std::logic_error("lesson7::aio::Completion: set twice (it is one-shot)");
    }
    done_ = true;
    error_ = std::move(error);
    if (waiter_ != nullptr) {
        std::exchange(waiter_, nullptr)->wake();
    }
}

Task<void> CompletionBase::wait_done(std::function<void()> on_cancel) {
    Awaiter wait(*this, std::move(on_cancel));
    co_await wait;
    if (error_) {
        std::rethrow_exception(error_);
    }
}

}  // namespace detail
}  // namespace lesson7::aio
