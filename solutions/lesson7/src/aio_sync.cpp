// Reference solution for lesson 7.3, task 3: the async Semaphore and the wait lists of the async
// Queue.
#include "lesson7/aio_sync.hpp"

#include <coroutine>
#include <cstddef>

namespace lesson7::aio {

class Semaphore::Awaiter final : public detail::Suspension {
  public:
    explicit Awaiter(Semaphore& sem) noexcept : sem_(sem) {}
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    Awaiter(Awaiter&&) = delete;
    Awaiter& operator=(Awaiter&&) = delete;
    ~Awaiter() = default;

    // A free permit is taken at once, but only if nobody waits: a newcomer must not barge ahead of
    // the queue (FIFO).
    bool await_ready() noexcept {
        if (sem_.available_ > 0 && sem_.waiters_.empty()) {
            --sem_.available_;
            return true;
        }
        return false;
    }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!park(h)) {
            return false;
        }
        sem_.waiters_.push_back(*this);
        return true;
    }
    // Woken by release(), which handed this waiter its permit.
    void await_resume() const { throw_if_cancelled(); }

  private:
    // Leaving the list is all: a cancelled waiter was never given a permit.
    void on_cancel() noexcept override { sem_.waiters_.remove(*this); }
    Semaphore& sem_;
};

Task<Semaphore::Permit> Semaphore::acquire() {
    Awaiter wait(*this);
    co_await wait;
    co_return Permit(this);
}

void Semaphore::release() noexcept {
    if (detail::Suspension* first = waiters_.pop_front(); first != nullptr) {
        first->wake();  // hand-off: the permit goes to the first waiter, the count stays
    } else {
        ++available_;
    }
}

namespace detail {

class QueueBase::Awaiter final : public Suspension {
  public:
    explicit Awaiter(WaitList& list) noexcept : list_(list) {}
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    Awaiter(Awaiter&&) = delete;
    Awaiter& operator=(Awaiter&&) = delete;
    ~Awaiter() = default;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!park(h)) {
            return false;
        }
        list_.push_back(*this);
        return true;
    }
    void await_resume() const { throw_if_cancelled(); }
    // Set before the wake-up when a slot or an item was kept for this waiter (not by close()).
    bool granted = false;

  private:
    void on_cancel() noexcept override { list_.remove(*this); }
    WaitList& list_;
};

void QueueBase::close() noexcept {
    closed_ = true;
    while (Suspension* s = getters_.pop_front()) {
        s->wake();
    }
    while (Suspension* s = putters_.pop_front()) {
        s->wake();
    }
}

Task<void> QueueBase::wait_to_put() {
    if (closed_) {
        throw QueueClosed("lesson7::aio::Queue::put: the queue is closed");
    }
    const bool full = maxsize_ != 0 && count_ + kept_slots_ >= maxsize_;
    if (!full && putters_.empty()) {
        co_return;
    }
    Awaiter wait(putters_);
    co_await wait;
    if (!wait.granted) {
        throw QueueClosed("lesson7::aio::Queue::put: the queue was closed while this put waited");
    }
    --kept_slots_;  // the slot kept for us is used by the push that follows at once
}

void QueueBase::pushed() noexcept {
    ++count_;
    if (Suspension* s = getters_.pop_front(); s != nullptr) {
        static_cast<Awaiter*>(s)->granted = true;
        ++kept_items_;
        s->wake();
    }
}

Task<bool> QueueBase::wait_to_get() {
    if (count_ > kept_items_) {
        co_return true;  // an item nobody waits for (waiting getters would have got it)
    }
    if (closed_) {
        co_return false;
    }
    Awaiter wait(getters_);
    co_await wait;
    if (!wait.granted) {
        co_return false;  // woken by close()
    }
    --kept_items_;
    co_return true;
}

void QueueBase::popped() noexcept {
    --count_;
    if (maxsize_ != 0 && count_ + kept_slots_ < maxsize_) {
        if (Suspension* s = putters_.pop_front(); s != nullptr) {
            static_cast<Awaiter*>(s)->granted = true;
            ++kept_slots_;
            s->wake();
        }
    }
}

}  // namespace detail
}  // namespace lesson7::aio
