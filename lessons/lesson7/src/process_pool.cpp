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

[[noreturn]] void not_implemented(const char* what) {
    throw std::logic_error(std::string("lesson7: ") + what +
                           " is not implemented yet (lessons/lesson7/src/process_pool.cpp)");
}

}  // namespace

namespace detail {

// TODO(lesson7): a frame is a std::uint32_t length then the bytes. write() may write less than
// asked and may fail with EINTR: loop. Throw std::system_error(errno, std::generic_category(), ...)
// on any other failure.
void write_frame(int fd, std::string_view payload) {
    static_cast<void>(fd);
    static_cast<void>(payload);
    not_implemented("write_frame");
}

// TODO(lesson7): read the 4-byte length, then exactly that many bytes, looping over short reads
// and EINTR. End of file before the first byte: return false. End of file inside a frame: throw
// std::runtime_error.
bool read_frame(int fd, std::string& payload) {
    static_cast<void>(fd);
    static_cast<void>(payload);
    not_implemented("read_frame");
}

// TODO(lesson7): the worker. While read_frame(request_fd, ...) returns a request: decode the kind
// byte and the task's name (wire::Reader, wire::decode<char>, wire::decode<std::string>); the
// arguments are the rest of the frame. Find the task in TaskRegistry::instance() by name, pick
// entry->call ('c') or entry->call_chunk ('m'), and run thunk(entry->fn, args, reply) with reply
// starting as "o". If anything throws (unknown name, the task itself), the reply is "e" + what().
// Write one reply frame per request.
void worker_main(int request_fd, int reply_fd) {
    static_cast<void>(request_fd);
    static_cast<void>(reply_fd);
    not_implemented("worker_main");
}

}  // namespace detail

// TODO(lesson7): throw std::invalid_argument for 0 workers; create the wake-up pipe (pipe2 with
// O_CLOEXEC | O_NONBLOCK); spawn `workers` workers into workers_; start io_thread_ on io_loop().
ProcessPool::ProcessPool(std::size_t workers) {
    static_cast<void>(workers);
    static_cast<void>(size_);
    static_cast<void>(started_);
    static_cast<void>(stopping_);
    static_cast<void>(wake_read_);
    static_cast<void>(wake_write_);
    not_implemented("ProcessPool::ProcessPool");
}

// TODO(lesson7): shutdown(true, false), then close the wake-up pipe.
ProcessPool::~ProcessPool() = default;

// TODO(lesson7): start one worker: this same program again (see run_worker_if_requested in the
// header). Two pipes made with pipe2(O_CLOEXEC) (so no other child inherits them); posix_spawn
// file actions dup2 the child's ends onto fds 3 (requests) and 4 (replies) and close the rest
// (posix_spawn_file_actions_addclosefrom_np(&actions, 5)); the environment is a copy of environ
// plus LESSON7_PROCESS_WORKER=1; the program is "/proc/self/exe". Close the child's ends in the
// parent, count started_, return {pid, request write end, reply read end}.
// Why posix_spawn and not fork()? After fork() in a threaded program the child may only call
// async-signal-safe functions until exec; posix_spawn runs none of our code in between.
ProcessPool::Worker ProcessPool::spawn_worker() {
    not_implemented("ProcessPool::spawn_worker");
}

// TODO(lesson7): under mutex_: throw PoolShutDownError if stopping_, else queue the request. Then
// write one byte to wake_write_ so the I/O thread looks at the queue.
void ProcessPool::enqueue(Request req) {
    [[maybe_unused]] const Request dropped = std::move(req);
    not_implemented("ProcessPool::enqueue (submit/map)");
}

// TODO(lesson7): the I/O thread. Block SIGPIPE in it first (pthread_sigmask). Then loop:
//  1. under mutex_, give each idle worker the next pending request whose state->start() agrees;
//     leave the loop when stopping_, nothing pending and no worker busy;
//  2. write each newly assigned frame to its worker (write_frame) without holding the lock;
//  3. poll() the wake-up pipe and every worker's reply pipe; drain the wake-up pipe;
//  4. a reply frame: 'o' -> busy->deliver(rest), then finish(nullptr) (or the exception deliver
//     threw); 'e' -> finish with RemoteError carrying the message;
//  5. end of file on a reply pipe: the worker died. Close its fds, waitpid() it (no zombie), fail
//     its busy request with WorkerCrashed (say how it died: WIFSIGNALED/WTERMSIG), spawn a
//     replacement into the same slot (under mutex_: worker_pids() reads the slots).
// Complete futures outside mutex_: finish() runs callbacks, and a callback may call submit().
// After the loop: close every request pipe (the workers' signal to exit), waitpid() each worker,
// close the reply pipes.
void ProcessPool::io_loop() {
    not_implemented("ProcessPool::io_loop");
}

// TODO(lesson7): as ThreadPool::shutdown: stopping_ (and the pending queue moved out if
// cancel_pending) under mutex_; cancel the moved-out states outside it; wake the I/O thread; if
// wait, join it (under join_mutex_, once).
void ProcessPool::shutdown(bool wait, bool cancel_pending) {
    static_cast<void>(wait);
    static_cast<void>(cancel_pending);
    not_implemented("ProcessPool::shutdown");
}

// TODO(lesson7): the pids of workers_, under mutex_.
std::vector<pid_t> ProcessPool::worker_pids() const {
    not_implemented("ProcessPool::worker_pids");
}

// TODO(lesson7): started_ under mutex_.
std::uint64_t ProcessPool::workers_started() const {
    not_implemented("ProcessPool::workers_started");
}

}  // namespace lesson7
