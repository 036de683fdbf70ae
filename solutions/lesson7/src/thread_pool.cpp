// Reference solution for lesson 7.2: the thread pool, its futures and as_completed.
#include "lesson7/thread_pool.hpp"

#include <atomic>

namespace lesson7 {

namespace detail {

namespace {
// One counter for the whole process, so that stamps from different pools still compare.
std::atomic<std::uint64_t> g_next_stamp{1};
}  // namespace

bool StateBase::start() {
    const std::lock_guard lock(mutex_);
    if (cancelled_) {
        return false;
    }
    running_ = true;
    return true;
}

void StateBase::finish(std::exception_ptr error) noexcept {
    std::vector<std::function<void()>> callbacks;
    {
        const std::lock_guard lock(mutex_);
        error_ = std::move(error);
        done_ = true;
        stamp_ = g_next_stamp.fetch_add(1, std::memory_order_relaxed);
        // Take the callbacks out so they run without the lock: a callback may call get(),
        // done() or add_done_callback() on this very future, which take the same mutex.
        callbacks.swap(callbacks_);
    }
    // Notify after unlocking: woken waiters do not bump straight into a held mutex.
    done_cv_.notify_all();
    for (auto& callback : callbacks) {
        try {
            callback();
        } catch (...) {
            log_->report("done callback", std::current_exception());
        }
    }
}

bool StateBase::cancel() {
    {
        const std::lock_guard lock(mutex_);
        if (cancelled_) {
            // Another cancel() won and finishes the state (or already did): finish() runs once.
            return true;
        }
        if (running_ || done_) {
            return false;
        }
        // Set under the same lock as the check: a second cancel() (or start()) sees it at once,
        // although done_ only becomes true later, in finish().
        cancelled_ = true;
    }
    // The worker that later dequeues this task sees cancelled_ in start() and skips it.
    finish(std::make_exception_ptr(
        CancelledError("lesson7: the task was cancelled before it started")));
    return true;
}

bool StateBase::done() const {
    const std::lock_guard lock(mutex_);
    return done_;
}

bool StateBase::cancelled() const {
    const std::lock_guard lock(mutex_);
    return cancelled_;
}

void StateBase::wait() const {
    std::unique_lock lock(mutex_);
    done_cv_.wait(lock, [this] { return done_; });
}

bool StateBase::wait_for(std::chrono::nanoseconds limit) const {
    std::unique_lock lock(mutex_);
    return done_cv_.wait_for(lock, limit, [this] { return done_; });
}

std::exception_ptr StateBase::error() const {
    const std::lock_guard lock(mutex_);
    return error_;
}

std::uint64_t StateBase::completion_stamp() const {
    const std::lock_guard lock(mutex_);
    return stamp_;
}

void StateBase::add_done_callback(std::function<void()> callback) {
    {
        const std::lock_guard lock(mutex_);
        if (!done_) {
            callbacks_.push_back(std::move(callback));
            return;
        }
    }
    // Already done: run it here, in the caller, and outside the lock (same reason as in finish).
    try {
        callback();
    } catch (...) {
        log_->report("done callback", std::current_exception());
    }
}

void CompletionQueue::push(std::uint64_t stamp, std::size_t index) {
    {
        const std::lock_guard lock(mutex_);
        ready_.emplace(stamp, index);
    }
    ready_cv_.notify_one();
}

std::size_t CompletionQueue::pop() {
    std::unique_lock lock(mutex_);
    ready_cv_.wait(lock, [this] { return !ready_.empty(); });
    const std::size_t index = ready_.top().second;
    ready_.pop();
    return index;
}

AsCompletedCore::AsCompletedCore(std::vector<std::shared_ptr<StateBase>> states)
    : states_(std::move(states)),
      queue_(std::make_shared<CompletionQueue>()),
      remaining_(states_.size()) {
    for (std::size_t i = 0; i < states_.size(); ++i) {
        // The callback owns the queue (it may outlive this object) but only points at the state:
        // the state runs its own callback, so it is alive whenever the callback is.
        StateBase* state = states_[i].get();
        states_[i]->add_done_callback(
            [queue = queue_, state, i] { queue->push(state->completion_stamp(), i); });
    }
}

std::size_t AsCompletedCore::next_index() {
    if (remaining_ == 0) {
        throw std::out_of_range("lesson7: as_completed has already returned every future");
    }
    --remaining_;
    return queue_->pop();
}

std::vector<std::pair<std::size_t, std::size_t>> plan_chunks(std::size_t count,
                                                             std::size_t chunk_size) {
    if (chunk_size == 0) {
        throw std::invalid_argument("lesson7: map() needs chunk_size >= 1 (got 0)");
    }
    std::vector<std::pair<std::size_t, std::size_t>> chunks;
    chunks.reserve(count / chunk_size + 1);
    for (std::size_t begin = 0; begin < count; begin += chunk_size) {
        chunks.emplace_back(begin, std::min(count, begin + chunk_size));
    }
    return chunks;
}

}  // namespace detail

ThreadPool::ThreadPool(std::size_t threads) {
    if (threads == 0) {
        throw std::invalid_argument("lesson7: ThreadPool needs at least one thread (got 0)");
    }
    workers_.reserve(threads);
    try {
        for (std::size_t i = 0; i < threads; ++i) {
            workers_.emplace_back([this] { worker_loop(); });
        }
    } catch (...) {
        // Could not start them all: stop the ones that did start before the exception leaves.
        shutdown(true, true);
        throw;
    }
}

ThreadPool::~ThreadPool() {
    shutdown(true, false);
}

void ThreadPool::enqueue(Job job) {
    bool wake = false;
    {
        const std::lock_guard lock(mutex_);
        // Checked under the same lock that shutdown() sets it with: a job is either queued before
        // shutdown begins (and then run or cancelled) or rejected, never lost in between.
        if (stopping_) {
            throw PoolShutDownError(
                "lesson7: submit() after shutdown(): the pool accepts no new work");
        }
        queue_.push_back(std::move(job));
        wake = idle_ > 0;
    }
    // A worker that is not idle re-checks the queue before it sleeps, so only idle ones need a
    // signal; skipping the system call when all are busy is what makes small tasks cheap.
    if (wake) {
        work_cv_.notify_one();
    }
}

void ThreadPool::worker_loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
        while (queue_.empty() && !stopping_) {
            ++idle_;
            work_cv_.wait(lock);
            --idle_;
        }
        if (queue_.empty()) {
            return;  // stopping and nothing left to drain
        }
        Job job = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        run_job(job);
        job = Job{};  // release the task's captures before taking the lock again
        lock.lock();
    }
}

void ThreadPool::run_job(Job& job) noexcept {
    if (job.state == nullptr) {
        try {
            job.run();
        } catch (...) {
            log_->report("detached task", std::current_exception());
        }
        return;
    }
    if (!job.state->start()) {
        return;  // cancelled while it waited in the queue; cancel() already completed it
    }
    std::exception_ptr error;
    try {
        job.run();
    } catch (...) {
        error = std::current_exception();
    }
    job.state->finish(std::move(error));
}

void ThreadPool::shutdown(bool wait, bool cancel_pending) {
    std::deque<Job> dropped;
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
        if (cancel_pending) {
            dropped.swap(queue_);
        }
    }
    // Every sleeping worker must learn about stopping_, not just one.
    work_cv_.notify_all();
    // Cancel outside the pool lock: cancel() runs done callbacks, which may call back into the
    // pool.
    for (auto& job : dropped) {
        if (job.state != nullptr) {
            job.state->cancel();
        }
    }
    if (wait) {
        const std::lock_guard join_lock(join_mutex_);
        for (auto& worker : workers_) {
            if (worker.joinable()) {
                worker.join();
            }
        }
    }
}

std::size_t ThreadPool::idle_workers() const {
    const std::lock_guard lock(mutex_);
    return idle_;
}

}  // namespace lesson7
