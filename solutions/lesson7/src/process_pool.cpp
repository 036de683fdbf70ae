// Reference solution for lesson 7.2's process pool: framed pipes, an I/O thread, crash recovery, no
// zombies.
#include "lesson7/process_pool.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

extern char** environ;  // NOLINT: POSIX declares it nowhere in a header

namespace lesson7 {

namespace detail {

namespace {

[[noreturn]] void throw_errno(const std::string& what, int error = errno) {
    throw std::system_error(error, std::generic_category(), "lesson7: " + what);
}

// Writes every byte of `parts`, looping over short writes and EINTR. writev sends the length and
// the payload in one system call without first copying them into one buffer.
void write_all(int fd, std::array<iovec, 2> parts) {
    std::size_t first = 0;
    while (first < parts.size()) {
        const ssize_t done = ::writev(fd, &parts[first], static_cast<int>(parts.size() - first));
        if (done < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("writing to a process-pool pipe");
        }
        auto left = static_cast<std::size_t>(done);
        while (first < parts.size() && left >= parts[first].iov_len) {
            left -= parts[first].iov_len;
            ++first;
        }
        if (first < parts.size()) {
            parts[first].iov_base = static_cast<char*>(parts[first].iov_base) + left;
            parts[first].iov_len -= left;
        }
    }
}

// Returns the bytes read before end of file (n unless the peer closed).
std::size_t read_all(int fd, char* data, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
        const ssize_t r = ::read(fd, data + got, n - got);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("reading from a process-pool pipe");
        }
        if (r == 0) {
            break;
        }
        got += static_cast<std::size_t>(r);
    }
    return got;
}

// Runs one request in the worker and writes its reply into `reply`: 'o' + the encoded result, or
// 'e' + why. The caller reuses `reply` (and the request buffer) from one request to the next: a
// 1 MiB buffer allocated afresh per request costs 256 page faults each time, more than the copy.
void run_request(std::string_view request, std::string& reply) {
    reply.assign(1, 'o');
    try {
        wire::Reader in(request);
        const char kind = wire::decode<char>(in);
        const std::string name = wire::decode<std::string>(in);
        const std::size_t header = sizeof(char) + sizeof(std::uint64_t) + name.size();
        const TaskEntry* entry = TaskRegistry::instance().find(name);
        if (entry == nullptr) {
            throw std::invalid_argument("no task named '" + name + "' is registered in the worker");
        }
        const Thunk thunk = kind == 'm' ? entry->call_chunk : entry->call;
        if (thunk == nullptr) {
            throw std::invalid_argument("task '" + name + "' cannot be used with map()");
        }
        thunk(entry->fn, request.substr(header), reply);
    } catch (const std::exception& e) {
        reply = "e";
        reply += e.what();
    } catch (...) {
        reply = "e(an exception not derived from std::exception)";
    }
}

}  // namespace

void write_frame(int fd, std::string_view payload) {
    if (payload.size() > UINT32_MAX) {
        throw std::length_error("lesson7: a process-pool frame is limited to 4 GiB");
    }
    auto size = static_cast<std::uint32_t>(payload.size());
    // iovec wants non-const pointers; writev only reads through them.
    write_all(fd, {iovec{&size, sizeof size},
                   iovec{const_cast<char*>(payload.data()), payload.size()}});  // NOLINT
}

bool read_frame(int fd, std::string& payload) {
    std::uint32_t size = 0;
    const std::size_t got = read_all(fd, reinterpret_cast<char*>(&size), sizeof size);  // NOLINT
    if (got == 0) {
        return false;
    }
    if (got != sizeof size) {
        throw std::runtime_error("lesson7: a process-pool pipe closed in the middle of a frame");
    }
    payload.resize(size);
    if (read_all(fd, payload.data(), size) != size) {
        throw std::runtime_error("lesson7: a process-pool pipe closed in the middle of a frame");
    }
    return true;
}

void worker_main(int request_fd, int reply_fd) {
    // The worker is this pool's own process, so it may tune its allocator: keep freed memory
    // mapped instead of returning it to the kernel after every large request. On the kit's VM a
    // page fault costs about 15 us, and a fresh 1 MiB buffer takes 256 of them.
    constexpr int kKeepBytes = 256 << 20;
    static_cast<void>(::mallopt(M_MMAP_THRESHOLD, kKeepBytes));
    static_cast<void>(::mallopt(M_TRIM_THRESHOLD, kKeepBytes));
    std::string request;
    std::string reply;
    while (read_frame(request_fd, request)) {
        run_request(request, reply);
        write_frame(reply_fd, reply);
    }
}

}  // namespace detail

namespace {

using detail::UniqueFd;

std::string describe_exit(int status) {
    if (WIFSIGNALED(status)) {
        return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
               strsignal(WTERMSIG(status)) + ")";
    }
    if (WIFEXITED(status)) {
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    }
    return "stopped";
}

// Waits for `pid` to end (so it leaves no zombie) and returns its wait status.
int reap(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

struct Pipe {
    UniqueFd read;
    UniqueFd write;
};

// A close-on-exec pipe: no other child inherits it (a stray copy of a write end would hide a
// worker's death from us).
Pipe make_pipe(int flags, const char* what) {
    std::array<int, 2> fds{-1, -1};
    if (::pipe2(fds.data(), O_CLOEXEC | flags) != 0) {
        detail::throw_errno(std::string("pipe2 for ") + what);
    }
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// A 1 MiB argument crosses a default 64 KiB pipe in 16 rounds of fill, wake up, drain. Linux lets
// any process grow a pipe to /proc/sys/fs/pipe-max-size (1 MiB by default); where that fails the
// pipe keeps working at its default size, only slower, so the result is deliberately not fatal.
void grow_pipe(const Pipe& p) {
    constexpr int kPipeBytes = 1 << 20;
    static_cast<void>(::fcntl(p.write.get(), F_SETPIPE_SZ, kPipeBytes));
}

// posix_spawn's file actions, destroyed on every path, every step checked.
class SpawnActions {
  public:
    SpawnActions() { check(posix_spawn_file_actions_init(&actions_), "init"); }
    ~SpawnActions() { posix_spawn_file_actions_destroy(&actions_); }
    SpawnActions(const SpawnActions&) = delete;
    SpawnActions& operator=(const SpawnActions&) = delete;

    void dup2(int fd, int target) {
        check(posix_spawn_file_actions_adddup2(&actions_, fd, target), "adddup2");
    }
    void close_from(int fd) {
        check(posix_spawn_file_actions_addclosefrom_np(&actions_, fd), "addclosefrom_np");
    }
    const posix_spawn_file_actions_t* get() const { return &actions_; }

  private:
    static void check(int rc, const char* step) {
        if (rc != 0) {
            detail::throw_errno(
                std::string("posix_spawn_file_actions_") + step + " for a worker process", rc);
        }
    }
    posix_spawn_file_actions_t actions_{};
};

// The worker's environment: ours, with LESSON7_PROCESS_WORKER=1 (see run_worker_if_requested).
std::vector<std::string> worker_environment() {
    constexpr std::string_view flag = "LESSON7_PROCESS_WORKER=";
    std::vector<std::string> env{std::string(flag) + "1"};
    for (char** e = environ; *e != nullptr; ++e) {
        if (std::string_view(*e).substr(0, flag.size()) != flag) {
            env.emplace_back(*e);
        }
    }
    return env;
}

void wake(const UniqueFd& fd) {
    const char byte = 1;
    // Non-blocking: EAGAIN means the pipe is full of wake-ups already, which is just as good.
    static_cast<void>(::write(fd.get(), &byte, 1));
}

}  // namespace

ProcessPool::ProcessPool(std::size_t workers) : size_(workers) {
    if (workers == 0) {
        throw std::invalid_argument("lesson7: ProcessPool needs at least one worker (got 0)");
    }
    Pipe wakeup = make_pipe(O_NONBLOCK, "the process pool's wake-up pipe");
    wake_read_ = std::move(wakeup.read);
    wake_write_ = std::move(wakeup.write);
    try {
        for (std::size_t i = 0; i < workers; ++i) {
            workers_.push_back(spawn_worker());
        }
        io_thread_ = std::thread([this] { io_loop(); });
    } catch (...) {
        // Closing a request pipe makes that worker exit; reap it so that no zombie is left.
        for (auto& w : workers_) {
            w.request.reset();
            reap(w.pid);
        }
        throw;
    }
}

ProcessPool::~ProcessPool() {
    shutdown(true, false);
    // The wake-up pipe closes after this body, when no shutdown() can be writing to it any more.
}

ProcessPool::Worker ProcessPool::spawn_worker() {
    Pipe request = make_pipe(0, "a worker's requests");
    Pipe reply = make_pipe(0, "a worker's replies");
    grow_pipe(request);
    grow_pipe(reply);
    SpawnActions actions;
    // dup2 onto 3 and 4 in the child (dup2 clears close-on-exec on the copy); close the rest. The
    // request pipe is made first, so reply.write is never fd 3, which the first dup2 overwrites.
    actions.dup2(request.read.get(), 3);
    actions.dup2(reply.write.get(), 4);
    actions.close_from(5);

    std::vector<std::string> env = worker_environment();
    std::vector<char*> envp;
    envp.reserve(env.size() + 1);
    for (auto& s : env) {
        envp.push_back(s.data());
    }
    envp.push_back(nullptr);
    std::string arg0 = "lesson7-process-worker";
    std::array<char*, 2> argv{arg0.data(), nullptr};

    // posix_spawn = fork + exec without running our code in between: safe in a threaded parent.
    pid_t pid = -1;
    const int rc =
        ::posix_spawn(&pid, "/proc/self/exe", actions.get(), nullptr, argv.data(), envp.data());
    if (rc != 0) {
        detail::throw_errno("posix_spawn of a worker process", rc);
    }
    {
        const std::lock_guard lock(mutex_);
        ++started_;
    }
    // The child's ends (request.read, reply.write) close here, when `request` and `reply` go.
    Worker w;
    w.pid = pid;
    w.request = std::move(request.write);
    w.reply = std::move(reply.read);
    return w;
}

void ProcessPool::enqueue(Request req) {
    {
        const std::lock_guard lock(mutex_);
        if (stopping_) {
            throw PoolShutDownError(
                "lesson7: submit() after shutdown(): the pool accepts no new work");
        }
        pending_.push_back(std::move(req));
    }
    wake(wake_write_);
}

// The I/O thread's state and steps. Only this thread touches the workers' fds and busy slots;
// the slots themselves (pids) change under mutex_, because worker_pids() reads them.
class ProcessPool::IoLoop {
  public:
    explicit IoLoop(ProcessPool& pool) : pool_(pool) {}

    void run() {
        while (assign_work()) {
            send_assigned();
            wait_and_handle();
            if (!drop_dead_slots()) {
                break;
            }
        }
        stop_workers();
    }

  private:
    // Under mutex_: hands queued tasks to idle workers. Returns false once the pool is stopping
    // and has nothing left to run.
    bool assign_work() {
        const std::lock_guard lock(pool_.mutex_);
        bool any_busy = false;
        for (auto& w : pool_.workers_) {
            while (!w.busy && !pool_.pending_.empty()) {
                Request req = std::move(pool_.pending_.front());
                pool_.pending_.pop_front();
                if (req.state->start()) {  // false: cancelled while queued, already finished
                    w.busy = std::move(req);
                }
            }
            any_busy = any_busy || w.busy.has_value();
        }
        return !(pool_.stopping_ && pool_.pending_.empty() && !any_busy);
    }

    // Without the lock: writes every newly assigned request (an empty frame means already sent).
    void send_assigned() {
        for (auto& w : pool_.workers_) {
            if (w.busy && !w.busy->frame.empty()) {
                try {
                    detail::write_frame(w.request.get(), w.busy->frame);
                } catch (const std::system_error&) {
                    // EPIPE: the worker died before reading; its reply pipe reports end of file.
                }
                std::string().swap(w.busy->frame);  // sent: free the bytes now
            }
        }
    }

    // Waits for a reply, a death or a wake-up, and handles what arrived.
    void wait_and_handle() {
        std::vector<pollfd> fds;
        fds.reserve(pool_.workers_.size() + 1);
        fds.push_back({pool_.wake_read_.get(), POLLIN, 0});
        for (const auto& w : pool_.workers_) {
            fds.push_back({w.reply.get(), POLLIN, 0});
        }
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            return;  // EINTR: the loop polls again
        }
        if (fds[0].revents != 0) {
            std::array<char, 256> buf{};
            while (::read(pool_.wake_read_.get(), buf.data(), buf.size()) > 0) {
            }
        }
        for (std::size_t i = 0; i < pool_.workers_.size(); ++i) {
            if (fds[i + 1].revents != 0) {
                on_readable(i);
            }
        }
    }

    void on_readable(std::size_t i) {
        Worker& w = pool_.workers_[i];
        std::string& reply = inbox_;  // decoded into the result before the next read reuses it
        bool alive = false;
        try {
            alive = detail::read_frame(w.reply.get(), reply);
        } catch (const std::exception&) {
            alive = false;  // a torn frame: the worker died while writing
        }
        if (!alive) {
            on_death(i);
        } else if (w.busy) {  // a reply nobody asked for is ignored
            Request req = std::move(*w.busy);
            w.busy.reset();
            complete(req, error_of(w, reply, req));
        }
    }

    static std::exception_ptr error_of(const Worker& w, std::string_view reply, Request& req) {
        if (!reply.empty() && reply[0] == 'o') {
            try {
                req.deliver(reply.substr(1));
                return nullptr;
            } catch (...) {
                return std::current_exception();
            }
        }
        return std::make_exception_ptr(RemoteError(
            "lesson7: task raised in worker " + std::to_string(w.pid) + ": " +
            (reply.empty() ? std::string("(empty reply)") : std::string(reply.substr(1)))));
    }

    // End of file: the worker is gone. Reap it (no zombie), fail its task, replace it.
    void on_death(std::size_t i) {
        Worker dead;
        {
            // Out of worker_pids() before it is reaped: the system may reuse a reaped pid.
            const std::lock_guard lock(pool_.mutex_);
            dead = std::move(pool_.workers_[i]);
            pool_.workers_[i].pid = -1;
        }
        dead.request.reset();
        dead.reply.reset();
        const int status = reap(dead.pid);
        bool replace = true;
        {
            const std::lock_guard lock(pool_.mutex_);
            replace = !(pool_.stopping_ && pool_.pending_.empty());
        }
        Worker fresh;  // pid -1: dropped by drop_dead_slots() if no replacement starts
        if (replace) {
            try {
                fresh = pool_.spawn_worker();
            } catch (...) {
                pool_.log_->report("replacing a dead worker", std::current_exception());
            }
        }
        {
            const std::lock_guard lock(pool_.mutex_);
            pool_.workers_[i] = std::move(fresh);
        }
        if (dead.busy) {
            complete(*dead.busy, std::make_exception_ptr(WorkerCrashed(
                                     "lesson7: worker " + std::to_string(dead.pid) + " " +
                                     describe_exit(status) + " while running a task")));
        }
    }

    // Drops slots whose replacement failed, so poll() does not spin on them. With no worker left,
    // fails what is queued and stops (returns false) rather than hang every waiter.
    bool drop_dead_slots() {
        std::deque<Request> orphans;
        {
            const std::lock_guard lock(pool_.mutex_);
            std::erase_if(pool_.workers_, [](const Worker& w) { return w.pid < 0; });
            if (!pool_.workers_.empty()) {
                return true;
            }
            orphans.swap(pool_.pending_);
            pool_.stopping_ = true;
        }
        for (auto& req : orphans) {
            if (req.state->start()) {
                complete(req,
                         std::make_exception_ptr(WorkerCrashed(
                             "lesson7: no worker process could be started; the pool stopped")));
            }
        }
        return false;
    }

    // Shutdown: closing the request pipes is the workers' signal to exit; then reap every one.
    void stop_workers() {
        std::vector<Worker> finished;
        {
            const std::lock_guard lock(pool_.mutex_);
            finished.swap(pool_.workers_);
        }
        for (auto& w : finished) {
            w.request.reset();
        }
        for (auto& w : finished) {
            reap(w.pid);
        }
    }

    // Outside mutex_: finish() runs done callbacks, which may call submit().
    static void complete(Request& req, std::exception_ptr error) {
        req.state->finish(std::move(error));
    }

    ProcessPool& pool_;
    std::string inbox_;  // the reply being read; its capacity is kept between replies
};

void ProcessPool::io_loop() {
    // A write to a dead worker's pipe must fail with EPIPE, not kill the program with SIGPIPE.
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
    IoLoop(*this).run();
}

void ProcessPool::shutdown(bool wait, bool cancel_pending) {
    std::deque<Request> dropped;
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
        if (cancel_pending) {
            dropped.swap(pending_);
        }
    }
    for (auto& req : dropped) {
        req.state->cancel();
    }
    wake(wake_write_);
    if (wait) {
        const std::lock_guard join_lock(join_mutex_);
        if (io_thread_.joinable()) {
            io_thread_.join();
        }
    }
}

std::vector<pid_t> ProcessPool::worker_pids() const {
    const std::lock_guard lock(mutex_);
    std::vector<pid_t> pids;
    pids.reserve(workers_.size());
    for (const auto& w : workers_) {
        if (w.pid > 0) {  // -1: a slot between a death and its replacement
            pids.push_back(w.pid);
        }
    }
    return pids;
}

std::uint64_t ProcessPool::workers_started() const {
    const std::lock_guard lock(mutex_);
    return started_;
}

}  // namespace lesson7
