// Your work for lesson 7.3, task 3: the async Semaphore and the wait lists of the async Queue.
// Read the contracts in lessons/lesson7/include/lesson7/aio_sync.hpp first; everything runs on
// the loop thread, so the danger is not a data race but what changes across a suspension point.
#include "lesson7/aio_sync.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace lesson7::aio {

namespace {

[[noreturn]] void not_implemented(const char* what) {
    throw std::logic_error(std::string("lesson7: aio::") + what +
                           " is not implemented yet (lessons/lesson7/src/aio_sync.cpp)");
}

[[noreturn]] void not_implemented_noexcept(const char* what) noexcept {
    static_cast<void>(std::fprintf(
        stderr, "lesson7: aio::%s is not implemented yet (lessons/lesson7/src/aio_sync.cpp)\n",
        what));
    std::abort();
}

}  // namespace

// TODO(lesson7): define class Semaphore::Awaiter (a detail::Suspension). await_ready takes a free
// permit at once, but only if nobody waits (no barging); otherwise await_suspend parks and joins
// waiters_; on_cancel leaves waiters_. Then acquire() co_awaits it and returns Permit(this).
Task<Semaphore::Permit> Semaphore::acquire() {
    not_implemented("Semaphore::acquire");
    co_return Permit();
}

// TODO(lesson7): a waiter? wake the first one, which now holds the permit (available_ does not
// change). Nobody waits? ++available_.
void Semaphore::release() noexcept {
    not_implemented_noexcept("Semaphore::release");
}

namespace detail {

// TODO(lesson7): define class QueueBase::Awaiter (a Suspension in getters_ or putters_, with a
// flag that says whether a slot or an item was kept for it, as opposed to a close() wake-up).

// TODO(lesson7): closed_ = true; wake every waiting getter and putter (not granted).
void QueueBase::close() noexcept {
    not_implemented_noexcept("Queue::close (QueueBase::close)");
}

// TODO(lesson7): closed: throw QueueClosed. Room (count_ + kept_slots_ < maxsize_, or unbounded)
// and no putter waiting: return at once. Otherwise wait in putters_; woken granted: the slot kept
// for you is now yours (--kept_slots_); woken by close(): throw QueueClosed.
Task<void> QueueBase::wait_to_put() {
    not_implemented("Queue::put (QueueBase::wait_to_put)");
    co_return;
}

// TODO(lesson7): ++count_; if a getter waits, keep the item for it (++kept_items_) and wake it.
void QueueBase::pushed() noexcept {
    not_implemented_noexcept("Queue::put (QueueBase::pushed)");
}

// TODO(lesson7): an item nobody has claimed (count_ > kept_items_): true at once. Closed: false.
// Otherwise wait in getters_; woken granted: --kept_items_, true; woken by close(): false.
Task<bool> QueueBase::wait_to_get() {
    not_implemented("Queue::get (QueueBase::wait_to_get)");
    co_return false;
}

// TODO(lesson7): --count_; if there is room now and a putter waits, keep the slot for it
// (++kept_slots_) and wake it.
void QueueBase::popped() noexcept {
    not_implemented_noexcept("Queue::get (QueueBase::popped)");
}

}  // namespace detail
}  // namespace lesson7::aio
