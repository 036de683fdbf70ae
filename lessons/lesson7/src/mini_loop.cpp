// Your work for lesson 7.3, task 1: an event loop of your own (a ready queue, a timer heap and a
// poll(2) wait on readers), as specified in include/lesson7/mini_loop.hpp.
#include "lesson7/mini_loop.hpp"

#include <stdexcept>
#include <utility>

namespace lesson7::mini {

// TODO(lesson7): the state behind a Handle. At least the callback, and a way to tell "pending"
// from "cancelled" and "already ran". The loop's queues will hold shared_ptrs to it too.
struct HandleState {};

// TODO(lesson7): mark the callback cancelled (only if it has not run yet) and let go of it.
void Handle::cancel() {
    throw std::logic_error(
        "lesson7: mini::Handle::cancel is not implemented yet (lessons/lesson7/src/mini_loop.cpp)");
}

// TODO(lesson7): true once cancel() took effect.
bool Handle::cancelled() const {
    throw std::logic_error(
        "lesson7: mini::Handle::cancelled is not implemented yet "
        "(lessons/lesson7/src/mini_loop.cpp)");
}

// TODO(lesson7): the loop's private state, yours to choose: a FIFO of ready callbacks, a binary
// heap of timers ordered by (deadline, insertion number), the readers by descriptor, a stop flag.
// Then write one iteration (see the class comment in the header: wait, readers, timers, run) as a
// member function here, and call it from run_until.
struct Loop::Impl {};

Loop::Loop(Clock& clock) : clock_(&clock), impl_(std::make_unique<Impl>()) {}

Loop::~Loop() = default;

// TODO(lesson7): append the callback to the ready queue; return a Handle on its state.
Handle Loop::call_soon(Callback cb) {
    const Callback unused = std::move(cb);  // replace with your code, which keeps cb
    throw std::logic_error(
        "lesson7: mini::Loop::call_soon is not implemented yet "
        "(lessons/lesson7/src/mini_loop.cpp)");
}

// TODO(lesson7): push a timer onto the heap. Give it a sequence number, so that equal deadlines
// come out in the order they went in (a heap alone does not keep that order).
Handle Loop::call_at(TimePoint when, Callback cb) {
    const Callback unused = std::move(cb);  // replace with your code, which keeps cb
    static_cast<void>(when);
    throw std::logic_error(
        "lesson7: mini::Loop::call_at is not implemented yet (lessons/lesson7/src/mini_loop.cpp)");
}

// TODO(lesson7): a deadline relative to clock().now().
Handle Loop::call_later(Duration delay, Callback cb) {
    const Callback unused = std::move(cb);  // replace with your code, which keeps cb
    static_cast<void>(delay);
    throw std::logic_error(
        "lesson7: mini::Loop::call_later is not implemented yet "
        "(lessons/lesson7/src/mini_loop.cpp)");
}

// TODO(lesson7): register (or replace) the reader of fd. Careful: the reader being replaced may be
// the one running right now.
void Loop::add_reader(int fd, Callback cb) {
    const Callback unused = std::move(cb);  // replace with your code, which keeps cb
    static_cast<void>(fd);
    throw std::logic_error(
        "lesson7: mini::Loop::add_reader is not implemented yet "
        "(lessons/lesson7/src/mini_loop.cpp)");
}

// TODO(lesson7): forget the reader of fd, so that it is not called any more, not even later in
// the current run phase.
bool Loop::remove_reader(int fd) {
    static_cast<void>(fd);
    throw std::logic_error(
        "lesson7: mini::Loop::remove_reader is not implemented yet "
        "(lessons/lesson7/src/mini_loop.cpp)");
}

// TODO(lesson7): check done(), then run iterations until done() or a stop. Each iteration: compute
// the wait timeout (0 if something is ready, else until the next live timer, else none), call
// clock().wait() once, queue the ready readers, queue the due timers, then run only the callbacks
// that were queued before the run phase began.
bool Loop::run_until(const std::function<bool()>& done) {
    static_cast<void>(done);
    throw std::logic_error(
        "lesson7: mini::Loop::run_until is not implemented yet "
        "(lessons/lesson7/src/mini_loop.cpp)");
}

// TODO(lesson7): ask the run in progress (or the next one) to end after the current iteration.
void Loop::stop() {
    throw std::logic_error(
        "lesson7: mini::Loop::stop is not implemented yet (lessons/lesson7/src/mini_loop.cpp)");
}

}  // namespace lesson7::mini
