// Your work for lesson 7.2: the process pool's framing, worker loop, spawning, I/O thread and
// shutdown.
#include "lesson7/process_pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace lesson7 {

namespace {

// [[maybe_unused]]: once you have implemented everything, nothing calls it, and that is fine.
[[noreturn, maybe_unused]] void not_implemented(const char* what) {
    throw std::logic_error(std::string("lesson7: ") + what +
                           " is not implemented yet (lessons/lesson7/src/process_pool.cpp)");
}

}  // namespace

namespace detail {

// TODO(lesson7): write one whole frame (see the header), whatever write() does.
void write_frame(int fd, std::string_view payload) {
    static_cast<void>(fd);
    static_cast<void>(payload);
    not_implemented("write_frame");
}

// TODO(lesson7): read one whole frame; tell a clean end of file from a torn frame.
bool read_frame(int fd, std::string& payload) {
    static_cast<void>(fd);
    static_cast<void>(payload);
    not_implemented("read_frame");
}

// TODO(lesson7): the worker process: one reply per request until end of file.
void worker_main(int request_fd, int reply_fd) {
    static_cast<void>(request_fd);
    static_cast<void>(reply_fd);
    not_implemented("worker_main");
}

}  // namespace detail

// TODO(lesson7): start the workers and the I/O thread; leave nothing behind if that fails.
ProcessPool::ProcessPool(std::size_t workers) {
    static_cast<void>(workers);
    static_cast<void>(size_);
    static_cast<void>(started_);
    static_cast<void>(stopping_);
    static_cast<void>(wake_read_);
    static_cast<void>(wake_write_);
    not_implemented("ProcessPool::ProcessPool");
}

// TODO(lesson7): shut down as the header says.
ProcessPool::~ProcessPool() = default;

// TODO(lesson7): start one worker process that no other child can disturb (see the README).
ProcessPool::Worker ProcessPool::spawn_worker() {
    not_implemented("ProcessPool::spawn_worker");
}

// TODO(lesson7): queue a request, or refuse after shutdown, and make the I/O thread look.
void ProcessPool::enqueue(Request req) {
    [[maybe_unused]] const Request dropped = std::move(req);
    not_implemented("ProcessPool::enqueue (submit/map)");
}

// TODO(lesson7): the I/O thread: dispatch, replies, crashes, replacements, and a clean stop.
void ProcessPool::io_loop() {
    not_implemented("ProcessPool::io_loop");
}

// TODO(lesson7): as ThreadPool::shutdown; afterwards every worker has been reaped.
void ProcessPool::shutdown(bool wait, bool cancel_pending) {
    static_cast<void>(wait);
    static_cast<void>(cancel_pending);
    not_implemented("ProcessPool::shutdown");
}

// TODO(lesson7): the current workers' pids.
std::vector<pid_t> ProcessPool::worker_pids() const {
    not_implemented("ProcessPool::worker_pids");
}

// TODO(lesson7): how many workers were started so far.
std::uint64_t ProcessPool::workers_started() const {
    not_implemented("ProcessPool::workers_started");
}

}  // namespace lesson7
