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

// [[maybe_unused]]: once you have implemented everything, nothing calls these, and that is fine.
[[noreturn, maybe_unused]] void not_implemented(const char* what) {
    throw std::logic_error(std::string("lesson7: ") + what +
                           " is not implemented yet (lessons/lesson7/src/thread_pool.cpp)");
}

// For the noexcept functions: an exception cannot leave them, so say it and stop.
[[noreturn, maybe_unused]] void not_implemented_noexcept(const char* what) noexcept {
    static_cast<void>(std::fprintf(
        stderr, "lesson7: %s is not implemented yet (lessons/lesson7/src/thread_pool.cpp)\n",
        what));
    std::abort();
}

}  // namespace

namespace detail {

// TODO(lesson7): mark the state running, or refuse if it was cancelled.
bool StateBase::start() {
    not_implemented("StateBase::start");
}

// TODO(lesson7): complete the state exactly once and run its callbacks (see the header).
void StateBase::finish(std::exception_ptr error) noexcept {
    [[maybe_unused]] const std::exception_ptr dropped = std::move(error);
    not_implemented_noexcept("StateBase::finish");
}

// TODO(lesson7): cancel a task that has not started; two cancels at once still finish it once.
bool StateBase::cancel() {
    not_implemented("StateBase::cancel");
}

// TODO(lesson7): the five readers and the two waits, each thread-safe.
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

// TODO(lesson7): Python's add_done_callback (see the header for who runs it, and where).
void StateBase::add_done_callback(std::function<void()> callback) {
    [[maybe_unused]] const std::function<void()> dropped = std::move(callback);
    not_implemented("StateBase::add_done_callback");
}

// TODO(lesson7): a blocking min-queue of (stamp, index); pop() never polls.
void CompletionQueue::push(std::uint64_t stamp, std::size_t index) {
    static_cast<void>(stamp);
    static_cast<void>(index);
    not_implemented("CompletionQueue::push");
}
std::size_t CompletionQueue::pop() {
    not_implemented("CompletionQueue::pop");
}

// TODO(lesson7): make every state report its completion to the queue, without polling.
AsCompletedCore::AsCompletedCore(std::vector<std::shared_ptr<StateBase>> states)
    : states_(std::move(states)) {
    not_implemented("AsCompletedCore (as_completed)");
}

// TODO(lesson7): the next index in completion order.
std::size_t AsCompletedCore::next_index() {
    not_implemented("AsCompletedCore::next_index");
}

// TODO(lesson7): the chunks of map() (see the header).
std::vector<std::pair<std::size_t, std::size_t>> plan_chunks(std::size_t count,
                                                             std::size_t chunk_size) {
    static_cast<void>(count);
    static_cast<void>(chunk_size);
    not_implemented("plan_chunks (ThreadPool::map)");
}

}  // namespace detail

// TODO(lesson7): start the workers; if one cannot start, stop the others before rethrowing.
ThreadPool::ThreadPool(std::size_t threads) {
    static_cast<void>(threads);
    not_implemented("ThreadPool::ThreadPool");
}

// TODO(lesson7): the destructor drains the queue and joins (see the header).
ThreadPool::~ThreadPool() = default;

// TODO(lesson7): queue a job, or refuse after shutdown began, with no job lost in between.
void ThreadPool::enqueue(Job job) {
    [[maybe_unused]] const Job dropped = std::move(job);
    static_cast<void>(stopping_);
    not_implemented("ThreadPool::enqueue (submit/post)");
}

// TODO(lesson7): the worker: run queued jobs until the pool stops and the queue is empty.
void ThreadPool::worker_loop() {
    not_implemented_noexcept("ThreadPool::worker_loop");
}

// TODO(lesson7): run one job; every path that started a state must finish it.
void ThreadPool::run_job(Job& job) noexcept {
    static_cast<void>(job);
    not_implemented_noexcept("ThreadPool::run_job");
}

// TODO(lesson7): stop the pool as the header says; no sleeping worker may miss it.
void ThreadPool::shutdown(bool wait, bool cancel_pending) {
    static_cast<void>(wait);
    static_cast<void>(cancel_pending);
    not_implemented("ThreadPool::shutdown");
}

// TODO(lesson7): how many workers wait for work right now.
std::size_t ThreadPool::idle_workers() const {
    static_cast<void>(idle_);
    not_implemented("ThreadPool::idle_workers");
}

}  // namespace lesson7
