// Provided API of lesson 7.3, task 3: an async Semaphore and an async Queue for the coroutine tasks
// of aio.hpp (asyncio.Semaphore, asyncio.Queue). Loop thread only: no mutex, because every task
// runs on the one loop thread; what can go wrong is what happens across a suspension point.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <stdexcept>
#include <utility>

#include "lesson7/aio.hpp"

namespace lesson7::aio {

// Limits how many tasks are inside a section at once (the seed's "at most 10 downloads").
//
//   Semaphore sem(10);
//   auto permit = co_await sem.acquire();   // waits while 10 permits are out
//   ...                                      // released when `permit` goes out of scope
//
// FIFO: waiters get permits in the order they started waiting, and a release with waiters hands
// the permit straight to the first one (a newcomer cannot barge ahead of a waiter). Cancelling a
// waiting task removes it from the wait list and loses no permit. TODO(lesson7) in aio_sync.cpp.
class Semaphore {
  public:
    // A permit: releases on destruction (or release()). Move-only.
    class [[nodiscard]] Permit {
      public:
        Permit() = default;
        Permit(Permit&& o) noexcept : sem_(std::exchange(o.sem_, nullptr)) {}
        Permit& operator=(Permit&& o) noexcept {
            if (this != &o) {
                release();
                sem_ = std::exchange(o.sem_, nullptr);
            }
            return *this;
        }
        Permit(const Permit&) = delete;
        Permit& operator=(const Permit&) = delete;
        ~Permit() { release(); }
        // Gives the permit back now (idempotent).
        void release() noexcept {
            if (sem_ != nullptr) {
                std::exchange(sem_, nullptr)->release();
            }
        }
        bool held() const noexcept { return sem_ != nullptr; }

      private:
        friend class Semaphore;
        explicit Permit(Semaphore* sem) noexcept : sem_(sem) {}
        Semaphore* sem_ = nullptr;
    };

    explicit Semaphore(std::size_t permits) noexcept : available_(permits) {}
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;
    Semaphore(Semaphore&&) = delete;
    Semaphore& operator=(Semaphore&&) = delete;
    // Every permit must be back and nobody waiting (a waiter would hang): destroy it after them.
    ~Semaphore() = default;

    // Takes a permit, waiting (FIFO) while none is free. Throws CancelledError if the task is
    // cancelled while it waits (no permit taken).
    Task<Permit> acquire();
    // Permits free right now (0 while tasks wait).
    std::size_t available() const noexcept { return available_; }
    // Tasks waiting in acquire().
    std::size_t waiting() const noexcept { return waiters_.size(); }

  private:
    class Awaiter;
    // A permit comes back: to the first waiter if there is one (it is woken holding it), else to
    // the free count.
    void release() noexcept;
    std::size_t available_;
    detail::WaitList waiters_;
};

// Thrown by Queue::put on a closed queue.
class QueueClosed : public std::logic_error {
  public:
    using std::logic_error::logic_error;
};

namespace detail {

// The wait lists and counts of a Queue, whatever its items. TODO(lesson7) in aio_sync.cpp.
// Protocol (the template calls these, with no suspension between a wait_* and its push or pop):
//   put: co_await wait_to_put(); push_back; pushed();
//   get: if (co_await wait_to_get()) { front; pop_front; popped(); } else  closed and drained.
// A woken waiter always completes its operation (its slot or item was kept for it), so a
// cancellation that arrives after the wake-up takes effect at the task's next suspension point,
// and one that arrives before it removes the waiter and loses nothing.
class QueueBase {
  public:
    // maxsize 0: unbounded (put never waits).
    explicit QueueBase(std::size_t maxsize) noexcept : maxsize_(maxsize) {}
    QueueBase(const QueueBase&) = delete;
    QueueBase& operator=(const QueueBase&) = delete;
    QueueBase(QueueBase&&) = delete;
    QueueBase& operator=(QueueBase&&) = delete;

    // The end signal: no more puts (they throw QueueClosed; waiting putters too). Items already in
    // the queue are still delivered; then every get gives std::nullopt. Idempotent.
    void close() noexcept;
    bool closed() const noexcept { return closed_; }
    std::size_t maxsize() const noexcept { return maxsize_; }
    std::size_t getters_waiting() const noexcept { return getters_.size(); }
    std::size_t putters_waiting() const noexcept { return putters_.size(); }

  protected:
    ~QueueBase() = default;
    // Returns once this putter may push one item (a slot is kept for it). Waits (FIFO) while the
    // queue is full or earlier putters wait. Throws QueueClosed if the queue is or gets closed,
    // CancelledError if the task is cancelled while waiting.
    Task<void> wait_to_put();
    // Called right after the push (counts it): the item goes to the first waiting getter (woken,
    // the item kept for it) or becomes available.
    void pushed() noexcept;
    // Returns true once an item is kept for this getter (pop it now), false if the queue is closed
    // and has no item left for it. Waits (FIFO) while there is none. CancelledError if cancelled.
    Task<bool> wait_to_get();
    // Called right after the pop (counts it): the freed slot goes to the first waiting putter.
    void popped() noexcept;

  private:
    class Awaiter;
    std::size_t maxsize_;
    std::size_t count_ = 0;  // items in the queue, including those kept for woken getters
    bool closed_ = false;
    std::size_t kept_items_ = 0;  // items kept for woken getters that have not popped yet
    std::size_t kept_slots_ = 0;  // slots kept for woken putters that have not pushed yet
    WaitList getters_;
    WaitList putters_;
};

}  // namespace detail

// asyncio.Queue(maxsize) with an end signal, FIFO for items and for waiters.
//
//   producer: for (...) co_await q.put(v);  q.close();
//   consumer: while (auto v = co_await q.get()) use(*v);   // ends after close() and the last item
template <class T>
class Queue : public detail::QueueBase {
  public:
    explicit Queue(std::size_t maxsize = 0) noexcept : QueueBase(maxsize) {}
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;
    Queue(Queue&&) = delete;
    Queue& operator=(Queue&&) = delete;
    ~Queue() = default;

    // Waits while the queue is full. Throws QueueClosed after close(), CancelledError if cancelled
    // while waiting (then the item is not in the queue).
    Task<void> put(T value) {
        co_await wait_to_put();
        items_.push_back(std::move(value));
        pushed();
    }
    // The oldest item, waiting while there is none; std::nullopt once closed and drained.
    Task<std::optional<T>> get() {
        if (!co_await wait_to_get()) {
            co_return std::nullopt;
        }
        std::optional<T> v(std::move(items_.front()));
        items_.pop_front();
        popped();
        co_return v;
    }
    std::size_t size() const noexcept { return items_.size(); }
    bool empty() const noexcept { return items_.empty(); }

  private:
    std::deque<T> items_;
};

}  // namespace lesson7::aio
