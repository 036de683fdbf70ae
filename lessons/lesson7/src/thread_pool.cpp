// Your work for lesson 7.2: the thread pool, its futures' shared state, as_completed and map's
// chunks.
#include "lesson7/thread_pool.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>

namespace lesson7 {

namespace {

[[noreturn]] void not_implemented(const char* what) {
    throw std::logic_error(std::string("lesson7: ") + what +
                           " is not implemented yet (lessons/lesson7/src/thread_pool.cpp)");
}

// For the noexcept functions: an exception cannot leave them, so say it and stop.
[[noreturn]] void not_implemented_noexcept(const char* what) noexcept {
    static_cast<void>(std::fprintf(
        stderr, "lesson7: %s is not implemented yet (lessons/lesson7/src/thread_pool.cpp)\n",
        what));
    std::abort();
}

}  // namespace

namespace detail {

// TODO(lesson7): under mutex_, refuse (return false) if the state was cancelled; otherwise set
// running_ so that a later cancel() fails, and return true.
bool StateBase::start() {
    not_implemented("StateBase::start");
}

// TODO(lesson7): the heart of the future. Under mutex_: store the error, set done_, take a
// completion stamp from a process-wide std::atomic counter (1, 2, 3, ...), and move the callbacks
// out of callbacks_. Then, WITHOUT the lock: notify every waiter (done_cv_), and run each callback
// in a try/catch that reports to log_ ("done callback"). Why not under the lock? A callback may
// call get() or add_done_callback() on this same future, and those take mutex_.
void StateBase::finish(std::exception_ptr error) noexcept {
    [[maybe_unused]] const std::exception_ptr dropped = std::move(error);
    not_implemented_noexcept("StateBase::finish");
}

// TODO(lesson7): if the task is running or done, return false. Otherwise mark it cancelled and
// finish() it with std::make_exception_ptr(CancelledError("...")); return true.
bool StateBase::cancel() {
    not_implemented("StateBase::cancel");
}

// TODO(lesson7): each of these five reads its member under mutex_; wait() and wait_for() block
// on done_cv_ with a predicate (a condition variable without one misses early notifications and
// wakes spuriously).
bool StateBase::done() const {
    not_implemented("StateBase::done");
}
bool StateBase::cancelled() const {
    not_implemented("StateBase::cancelled");
}
void StateBase::wait() const {
    not_implemented("StateBase::wait");
}
bool StateBase::wait_for(std::chrono::nanoseconds limit) const {
    static_cast<void>(limit);
    not_implemented("StateBase::wait_for");
}
std::exception_ptr StateBase::error() const {
    not_implemented("StateBase::error");
}
std::uint64_t StateBase::completion_stamp() const {
    not_implemented("StateBase::completion_stamp");
}

// TODO(lesson7): Python's add_done_callback. Under mutex_, if not done, append it and return.
// If already done, run it now, in this thread, after releasing the lock, in a try/catch that
// reports to log_.
void StateBase::add_done_callback(std::function<void()> callback) {
    [[maybe_unused]] const std::function<void()> dropped = std::move(callback);
    not_implemented("StateBase::add_done_callback");
}

// TODO(lesson7): push under mutex_, then notify_one. pop waits on ready_cv_ with a predicate and
// returns the index of the smallest stamp (ready_.top()).
void CompletionQueue::push(std::uint64_t stamp, std::size_t index) {
    static_cast<void>(stamp);
    static_cast<void>(index);
    not_implemented("CompletionQueue::push");
}
std::size_t CompletionQueue::pop() {
    not_implemented("CompletionQueue::pop");
}

// TODO(lesson7): create the queue, set remaining_, and add to every state a done callback that
// pushes (state's completion_stamp(), its index) into the queue. Capture the queue by shared_ptr
// (a callback may run after this object is gone) and the state by raw pointer (the state owns
// the callback, so a shared_ptr would be a cycle). No polling: the callbacks do the work.
AsCompletedCore::AsCompletedCore(std::vector<std::shared_ptr<StateBase>> states)
    : states_(std::move(states)) {
    not_implemented("AsCompletedCore (as_completed)");
}

// TODO(lesson7): throw std::out_of_range if remaining_ == 0; otherwise decrement it and pop().
std::size_t AsCompletedCore::next_index() {
    not_implemented("AsCompletedCore::next_index");
}

// TODO(lesson7): the chunks of map(): [0, k), [k, 2k), ..., the last one shorter; throw
// std::invalid_argument if chunk_size == 0.
std::vector<std::pair<std::size_t, std::size_t>> plan_chunks(std::size_t count,
                                                             std::size_t chunk_size) {
    static_cast<void>(count);
    static_cast<void>(chunk_size);
    not_implemented("plan_chunks (ThreadPool::map)");
}

}  // namespace detail

// TODO(lesson7): throw std::invalid_argument for 0 threads; start `threads` std::threads running
// worker_loop(). If starting one fails, stop the ones already started before rethrowing.
ThreadPool::ThreadPool(std::size_t threads) {
    static_cast<void>(threads);
    not_implemented("ThreadPool::ThreadPool");
}

// TODO(lesson7): shutdown(true, false).
ThreadPool::~ThreadPool() = default;

// TODO(lesson7): under mutex_: throw PoolShutDownError if stopping_, else push the job. Wake one
// worker (work_cv_.notify_one) if any is idle; waking nobody when all are busy saves a system
// call per task. Check stopping_ under the SAME lock as the push: checked outside, a job can
// slip in after the workers have left and its future never completes.
void ThreadPool::enqueue(Job job) {
    [[maybe_unused]] const Job dropped = std::move(job);
    static_cast<void>(stopping_);
    not_implemented("ThreadPool::enqueue (submit/post)");
}

// TODO(lesson7): loop: under mutex_, while the queue is empty and not stopping_, count yourself
// idle and wait on work_cv_; leave when stopping_ and the queue is empty; otherwise pop the front
// job, unlock, run_job(job), lock again.
void ThreadPool::worker_loop() {
    not_implemented_noexcept("ThreadPool::worker_loop");
}

// TODO(lesson7): a posted job (state == nullptr): run it, report an exception to log_ ("detached
// task"). A submitted job: if state->start() refuses (cancelled), skip it; otherwise run it and
// finish() the state with nullptr or with the caught exception (std::current_exception()). Every
// path must finish the state, or get() waits forever.
void ThreadPool::run_job(Job& job) noexcept {
    static_cast<void>(job);
    not_implemented_noexcept("ThreadPool::run_job");
}

// TODO(lesson7): under mutex_, set stopping_ and, if cancel_pending, move the queue out. Wake
// EVERY worker (notify_all: each sleeping one must see stopping_). Cancel the moved-out jobs'
// states outside the lock. If wait, join the workers (under join_mutex_, skipping ones already
// joined).
void ThreadPool::shutdown(bool wait, bool cancel_pending) {
    static_cast<void>(wait);
    static_cast<void>(cancel_pending);
    not_implemented("ThreadPool::shutdown");
}

// TODO(lesson7): idle_ under mutex_.
std::size_t ThreadPool::idle_workers() const {
    static_cast<void>(idle_);
    not_implemented("ThreadPool::idle_workers");
}

}  // namespace lesson7
