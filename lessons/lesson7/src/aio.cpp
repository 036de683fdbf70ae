// Your work for lesson 7.3, task 2: coroutine tasks on libuv. The loop's per-run state and its
// ready list, symmetric transfer, parking and waking, cancellation, sleep on a uv_timer_t, run()
// and its shutdown with the leak report, and the bookkeeping of gather, as_completed, wait_for and
// Completion. Read the contracts in lessons/lesson7/include/lesson7/aio.hpp first.
#include "lesson7/aio.hpp"

#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>

namespace lesson7::aio {

namespace {

[[noreturn]] void not_implemented(const char* what) {
    throw std::logic_error(std::string("lesson7: aio::") + what +
                           " is not implemented yet (lessons/lesson7/src/aio.cpp)");
}

// For the noexcept functions: an exception cannot leave them, so say it and stop.
[[noreturn]] void not_implemented_noexcept(const char* what) noexcept {
    static_cast<void>(std::fprintf(
        stderr, "lesson7: aio::%s is not implemented yet (lessons/lesson7/src/aio.cpp)\n", what));
    std::abort();
}

}  // namespace

namespace detail {

// TODO(lesson7): define class Scheduler here: the state of one run(). A suggestion: the uv_loop_t,
// a uv_idle_t that drains the ready list (an active idle handle makes the loop poll without
// blocking, so it runs every iteration while there is work), a std::deque<TaskBase*> of ready
// tasks, the task whose step is running, the list of live tasks (TaskBase::live_prev_/next_),
// where each tracked handle was made, and the leaks found so far. Keep a thread_local pointer to
// the current one: current_loop(), create_task() and the awaiters find it there.

// TODO(lesson7): the state of Runner (it may simply derive from your Scheduler).
struct Runner::Impl {};

// TODO(lesson7): make a fresh loop (uv_loop_init) and your idle handle, and make them current on
// this thread; refuse with std::logic_error if a run() is already in progress here.
Runner::Runner(RunOptions options) {
    [[maybe_unused]] const RunOptions dropped = std::move(options);
    not_implemented("Runner::Runner");
}

// TODO(lesson7): shutdown, in this order. (1) Cancel every live task and run the loop until they
// have finished (a Leak::Kind::task_pending each); a task that swallows its cancellation gets a
// few more, then is dropped. (2) uv_walk the loop: every handle that is not closing is a
// Leak::Kind::handle_never_closed (say where track_handle saw it made); uv_close it. (3) Close your
// own handles, run the loop once more for the close callbacks, uv_loop_close. (4) Hand every leak
// to options.on_leak (or print it to stderr). Never throw from here.
Runner::~Runner() = default;

// TODO(lesson7): uv_run until main is done. If the loop has nothing left to do (no ready task, no
// active handle) while main still waits, nothing can ever wake it: throw std::logic_error saying
// so instead of returning as if main had finished.
void Runner::run_until_done(TaskBase& main) {
    static_cast<void>(main);
    not_implemented("Runner::run_until_done");
}

// TODO(lesson7): remember the parent in the child's promise and tell the running step to resume
// the child next. The step is a trampoline: `for (h = first; h; h = take_next()) h.resume();`.
// (Calling child_handle.resume() here instead nests one stack frame per co_await, and a million
// awaits overflow the stack.)
void start_awaited(PromiseBase& child, std::coroutine_handle<> child_handle,
                   std::coroutine_handle<> parent) noexcept {
    static_cast<void>(child);
    static_cast<void>(child_handle);
    static_cast<void>(parent);
    not_implemented_noexcept("start_awaited");
}

// TODO(lesson7): the coroutine of `promise` has finished. If it has a continuation, tell the
// running step to resume that next; otherwise it is a scheduled task's root (promise.owner_):
// tell that TaskBase (finished()).
void final_transfer(PromiseBase& promise) noexcept {
    static_cast<void>(promise);
    not_implemented_noexcept("final_transfer");
}

// TODO(lesson7): find the running task (your Scheduler knows it); if it has a cancellation
// pending, consume it, mark this suspension cancelled and return false. Otherwise remember the
// task and h, mark both parked (the task's parked_at_ and resume_at_ too) and return true.
bool Suspension::park(std::coroutine_handle<> h) {
    static_cast<void>(h);
    not_implemented("Suspension::park");
}

// TODO(lesson7): only if parked: mark woken, clear the task's parked_at_, and put the task back on
// the ready list (it resumes at resume_at_ on its next step).
void Suspension::wake() noexcept {
    not_implemented_noexcept("Suspension::wake");
}

// TODO(lesson7): throw CancelledError if the wait ended by cancellation.
void Suspension::throw_if_cancelled() const {
    not_implemented("Suspension::throw_if_cancelled");
}

// TODO(lesson7): an intrusive doubly linked FIFO through Suspension::prev_/next_/list_.
void WaitList::push_back(Suspension& s) noexcept {
    static_cast<void>(s);
    static_cast<void>(tail_);
    not_implemented_noexcept("WaitList::push_back");
}
Suspension* WaitList::pop_front() noexcept {
    not_implemented_noexcept("WaitList::pop_front");
}
void WaitList::remove(Suspension& s) noexcept {
    static_cast<void>(s);
    not_implemented_noexcept("WaitList::remove");
}

// TODO(lesson7): if still in a task's listener list, leave it. (The casts only keep clang's
// -Wunused-private-field quiet in this starter; your version uses the fields.)
DoneListener::~DoneListener() {
    static_cast<void>(prev_);
    static_cast<void>(next_);
    static_cast<void>(target_);
}

// TODO(lesson7): the loop takes its own reference (add_ref), adds the task to the live list and
// to the ready list. std::logic_error outside run().
void TaskBase::schedule() {
    not_implemented("TaskBase::schedule");
}

// TODO(lesson7): done: return false. Parked: mark the suspension cancelled and the task ready
// FIRST, then call its on_cancel() (which may deliver a late event: it must find nothing parked),
// then put the task on the ready list. Ready or running: set cancel_pending_ (the next park()
// consumes it; a task that has not started yet must then not run its body at all).
bool TaskBase::cancel() noexcept {
    not_implemented_noexcept("TaskBase::cancel");
}

// TODO(lesson7): done, and the error is a CancelledError.
bool TaskBase::cancelled() const noexcept {
    not_implemented_noexcept("TaskBase::cancelled");
}

// TODO(lesson7): an intrusive doubly linked list through DoneListener::prev_/next_/target_.
void TaskBase::add_listener(DoneListener& l) noexcept {
    static_cast<void>(l);
    not_implemented_noexcept("TaskBase::add_listener");
}
void TaskBase::remove_listener(DoneListener& l) noexcept {
    static_cast<void>(l);
    not_implemented_noexcept("TaskBase::remove_listener");
}

// TODO(lesson7): drop one reference; at zero, record a Leak::Kind::task_never_awaited if nobody
// observed the result (say where it was made, and what its exception was if it had one), then
// `delete this` (the virtual destructor destroys the coroutine frame).
void TaskBase::release() noexcept {
    not_implemented_noexcept("TaskBase::release");
}

// TODO(lesson7): mark done, leave the live list (if it is main, uv_stop the loop), tell every
// listener (remove each before calling its on_done), drop the loop's reference. The frame is
// suspended at its final point, so destroying it now is allowed, but touch nothing afterwards:
// the step that resumed it should hold its own reference until the resume returns.
void TaskBase::finished() noexcept {
    not_implemented_noexcept("TaskBase::finished");
}

// TODO(lesson7): park, then listen for the target's end.
bool DoneAwaiter::await_suspend(std::coroutine_handle<> h) {
    static_cast<void>(h);
    not_implemented("DoneAwaiter::await_suspend");
}
void DoneAwaiter::on_done(TaskBase& task) noexcept {
    static_cast<void>(task);
    not_implemented_noexcept("DoneAwaiter::on_done");
}
void DoneAwaiter::on_cancel() noexcept {
    not_implemented_noexcept("DoneAwaiter::on_cancel");
}

// TODO(lesson7): see the header. Write it as a coroutine: CompletionOrder gives you the tasks in
// the order they finish. You cannot co_await inside a catch block: remember, then act after it.
Task<void> gather_all(std::vector<TaskBase*> tasks) {
    static_cast<void>(tasks);
    not_implemented("gather_all");
    co_return;
}

// TODO(lesson7): see the header. An awaiter that is both a Suspension and a DoneListener, with
// a uv_timer_t: whichever comes first wakes it and undoes the other (stop and close the timer, or
// remove the listener).
Task<void> wait_done_or_timeout(TaskBase& task, std::chrono::nanoseconds timeout) {
    static_cast<void>(task);
    static_cast<void>(timeout);
    not_implemented("wait_done_or_timeout");
    co_return;
}

// TODO(lesson7): one DoneListener per pending task pushes its index on a FIFO of finished
// indices and wakes next() if it waits; tasks already done at construction go in at once.
struct CompletionOrder::Impl {};

CompletionOrder::CompletionOrder(std::vector<TaskBase*> tasks) {
    static_cast<void>(tasks);
    not_implemented("CompletionOrder::CompletionOrder");
}
CompletionOrder::CompletionOrder(CompletionOrder&&) noexcept = default;
CompletionOrder& CompletionOrder::operator=(CompletionOrder&&) noexcept = default;
CompletionOrder::~CompletionOrder() = default;

Task<std::size_t> CompletionOrder::next() {
    not_implemented("CompletionOrder::next");
    co_return 0;
}

std::size_t CompletionOrder::remaining() const noexcept {
    not_implemented_noexcept("CompletionOrder::remaining");
}

// TODO(lesson7): define class CompletionBase::Awaiter (a Suspension: parks, registers as
// waiter_, and on cancel clears waiter_ and runs the on_cancel callback, catching what it throws),
// then these three. A waiter still parked in the destructor is woken with a std::logic_error that
// it must be able to read without touching the destroyed Completion.
CompletionBase::~CompletionBase() = default;

void CompletionBase::finish(std::exception_ptr error) {
    static_cast<void>(error);
    not_implemented("Completion::set_value / set_exception (CompletionBase::finish)");
}

Task<void> CompletionBase::wait_done(std::function<void()> on_cancel) {
    static_cast<void>(on_cancel);
    not_implemented("Completion::wait (CompletionBase::wait_done)");
    co_return;
}

}  // namespace detail

// TODO(lesson7): your Scheduler's loop; std::logic_error outside run().
uv_loop_t& current_loop() {
    not_implemented("current_loop");
}

// TODO(lesson7): remember `where` for this handle in the current run.
void track_handle(const uv_handle_t* handle, SourceLocation where) {
    static_cast<void>(handle);
    static_cast<void>(where);
    not_implemented("track_handle");
}

// TODO(lesson7): co_await an awaiter of your own (a Suspension) that parks and starts a
// uv_timer_t (milliseconds, rounded up; 0 for d <= 0). Its callback stops and closes the timer and
// wakes the task; on_cancel stops and closes it. The timer must live on the heap until its close
// callback, which frees it: libuv still touches a closing handle.
Task<void> sleep(std::chrono::nanoseconds d) {
    static_cast<void>(d);
    not_implemented("sleep");
    co_return;
}

}  // namespace lesson7::aio
