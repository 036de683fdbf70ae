// Reference solution for lesson 7.2's process pool: framed pipes, an I/O thread, crash recovery, no
// zombies.
#include "lesson7/process_pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

extern char** environ;  // NOLINT: POSIX declares it nowhere in a header

namespace lesson7 {

namespace detail {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), "lesson7: " + what);
}

void write_all(int fd, const char* data, std::size_t n) {
    while (n > 0) {
        const ssize_t done = ::write(fd, data, n);
        if (done < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("writing to a process-pool pipe");
        }
        data += done;
        n -= static_cast<std::size_t>(done);
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

}  // namespace

void write_frame(int fd, std::string_view payload) {
    const auto size = static_cast<std::uint32_t>(payload.size());
    // One buffer, one write for small frames: a frame of up to PIPE_BUF bytes arrives whole.
    std::string frame(sizeof size, '\0');
    std::memcpy(frame.data(), &size, sizeof size);
    frame += payload;
    write_all(fd, frame.data(), frame.size());
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
    std::string request;
    while (read_frame(request_fd, request)) {
        std::string reply(1, 'o');
        try {
            wire::Reader in(request);
            const char kind = wire::decode<char>(in);
            const std::string name = wire::decode<std::string>(in);
            const std::size_t header = sizeof(char) + sizeof(std::uint64_t) + name.size();
            const std::string_view args = std::string_view(request).substr(header);
            const TaskEntry* entry = TaskRegistry::instance().find(name);
            if (entry == nullptr) {
                throw std::invalid_argument("no task named '" + name +
                                            "' is registered in the worker");
            }
            const Thunk thunk = kind == 'm' ? entry->call_chunk : entry->call;
            if (thunk == nullptr) {
                throw std::invalid_argument("task '" + name + "' cannot be used with map()");
            }
            thunk(entry->fn, args, reply);
        } catch (const std::exception& e) {
            reply = "e";
            reply += e.what();
        } catch (...) {
            reply = "e(an exception not derived from std::exception)";
        }
        write_frame(reply_fd, reply);
    }
}

}  // namespace detail

namespace {

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

pid_t reap(pid_t pid, int& status) {
    pid_t r = 0;
    do {
        r = ::waitpid(pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    return r;
}

}  // namespace

ProcessPool::ProcessPool(std::size_t workers) : size_(workers) {
    if (workers == 0) {
        throw std::invalid_argument("lesson7: ProcessPool needs at least one worker (got 0)");
    }
    int wake[2] = {-1, -1};
    if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        detail::throw_errno("pipe2 for the process pool's wake-up pipe");
    }
    wake_read_ = wake[0];
    wake_write_ = wake[1];
    try {
        for (std::size_t i = 0; i < workers; ++i) {
            workers_.push_back(spawn_worker());
        }
        io_thread_ = std::thread([this] { io_loop(); });
    } catch (...) {
        for (auto& w : workers_) {
            ::close(w.request_fd);
            ::close(w.reply_fd);
            int status = 0;
            reap(w.pid, status);
        }
        ::close(wake_read_);
        ::close(wake_write_);
        throw;
    }
}

ProcessPool::~ProcessPool() {
    shutdown(true, false);
    // Closed only here: a concurrent shutdown() may still write its wake-up byte until now.
    ::close(wake_read_);
    ::close(wake_write_);
}

ProcessPool::Worker ProcessPool::spawn_worker() {
    // Pipes are close-on-exec so that no other child (another worker, any program this process
    // starts) inherits them: a stray copy of a write end would hide a worker's death from us.
    int request[2] = {-1, -1};
    int reply[2] = {-1, -1};
    if (::pipe2(request, O_CLOEXEC) != 0) {
        detail::throw_errno("pipe2 for a worker's requests");
    }
    if (::pipe2(reply, O_CLOEXEC) != 0) {
        const int saved = errno;
        ::close(request[0]);
        ::close(request[1]);
        errno = saved;
        detail::throw_errno("pipe2 for a worker's replies");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // dup2 onto 3 and 4 in the child (dup2 clears close-on-exec on the copy); close the rest.
    posix_spawn_file_actions_adddup2(&actions, request[0], 3);
    posix_spawn_file_actions_adddup2(&actions, reply[1], 4);
    posix_spawn_file_actions_addclosefrom_np(&actions, 5);

    std::vector<std::string> env_storage{"LESSON7_PROCESS_WORKER=1"};
    for (char** e = environ; *e != nullptr; ++e) {
        if (std::strncmp(*e, "LESSON7_PROCESS_WORKER=", 23) != 0) {
            env_storage.emplace_back(*e);
        }
    }
    std::vector<char*> envp;
    envp.reserve(env_storage.size() + 1);
    for (auto& s : env_storage) {
        envp.push_back(s.data());
    }
    envp.push_back(nullptr);
    std::string exe = "/proc/self/exe";
    std::string arg0 = "lesson7-process-worker";
    char* argv[] = {arg0.data(), nullptr};

    // posix_spawn = fork + exec without running our code in between: safe in a threaded parent.
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(request[0]);  // the child's ends: ours are request[1] and reply[0]
    ::close(reply[1]);
    if (rc != 0) {
        ::close(request[1]);
        ::close(reply[0]);
        errno = rc;
        detail::throw_errno("posix_spawn of a worker process");
    }
    {
        const std::lock_guard lock(mutex_);
        ++started_;
    }
    Worker w;
    w.pid = pid;
    w.request_fd = request[1];
    w.reply_fd = reply[0];
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
    const char byte = 1;
    // Non-blocking: if the pipe is full, the I/O thread has plenty of wake-ups queued already.
    [[maybe_unused]] const ssize_t n = ::write(wake_write_, &byte, 1);
}

void ProcessPool::io_loop() {
    // A write to a dead worker's pipe must fail with EPIPE, not kill the program with SIGPIPE.
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);

    // The futures are completed outside mutex_: finish() runs callbacks, which may submit().
    auto complete = [](Request& req, std::exception_ptr error) {
        req.state->finish(std::move(error));
    };

    for (;;) {
        // 1. Hand queued tasks to idle workers.
        bool quit = false;
        {
            std::unique_lock lock(mutex_);
            for (auto& w : workers_) {
                while (!w.busy && !pending_.empty()) {
                    Request req = std::move(pending_.front());
                    pending_.pop_front();
                    if (!req.state->start()) {
                        continue;  // cancelled while queued
                    }
                    w.busy = std::move(req);
                }
            }
            bool any_busy = false;
            for (const auto& w : workers_) {
                any_busy = any_busy || w.busy.has_value();
            }
            quit = stopping_ && pending_.empty() && !any_busy;
        }
        if (quit) {
            break;
        }
        // Sending happens without the lock; only this thread touches fds and busy slots.
        for (auto& w : workers_) {
            if (w.busy && !w.busy->frame.empty()) {
                try {
                    detail::write_frame(w.request_fd, w.busy->frame);
                } catch (const std::system_error&) {
                    // The worker died before reading: its reply pipe reports end of file below.
                }
                w.busy->frame.clear();  // sent (the reply will come, or end of file)
            }
        }

        // 2. Wait for a reply, a death, or a wake-up.
        std::vector<pollfd> fds;
        fds.push_back({wake_read_, POLLIN, 0});
        for (const auto& w : workers_) {
            fds.push_back({w.reply_fd, POLLIN, 0});
        }
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            continue;  // EINTR
        }
        if (fds[0].revents != 0) {
            char buf[256];
            while (::read(wake_read_, buf, sizeof buf) > 0) {
            }
        }
        for (std::size_t i = 0; i < workers_.size(); ++i) {
            if (fds[i + 1].revents == 0) {
                continue;
            }
            Worker& w = workers_[i];
            std::string reply;
            bool alive = false;
            try {
                alive = detail::read_frame(w.reply_fd, reply);
            } catch (const std::exception&) {
                alive = false;  // a torn frame: the worker died while writing
            }
            if (alive) {
                if (!w.busy) {
                    continue;  // a reply nobody asked for: ignore it
                }
                Request req = std::move(*w.busy);
                w.busy.reset();
                std::exception_ptr error;
                if (!reply.empty() && reply[0] == 'o') {
                    try {
                        req.deliver(std::string_view(reply).substr(1));
                    } catch (...) {
                        error = std::current_exception();
                    }
                } else {
                    error = std::make_exception_ptr(RemoteError(
                        "lesson7: task raised in worker " + std::to_string(w.pid) + ": " +
                        (reply.empty() ? std::string("(empty reply)") : reply.substr(1))));
                }
                complete(req, std::move(error));
                continue;
            }
            // End of file: the worker is gone. Reap it (no zombie), fail its task, replace it.
            ::close(w.request_fd);
            ::close(w.reply_fd);
            int status = 0;
            reap(w.pid, status);
            std::optional<Request> lost = std::move(w.busy);
            const pid_t dead = w.pid;
            bool replace = true;
            {
                const std::lock_guard lock(mutex_);
                replace = !(stopping_ && pending_.empty());
            }
            Worker fresh;
            if (replace) {
                try {
                    fresh = spawn_worker();
                } catch (...) {
                    log_->report("replacing a dead worker", std::current_exception());
                }
            }
            {
                const std::lock_guard lock(mutex_);
                workers_[i] = std::move(fresh);
            }
            if (lost) {
                complete(*lost, std::make_exception_ptr(WorkerCrashed(
                                    "lesson7: worker " + std::to_string(dead) + " " +
                                    describe_exit(status) + " while running a task")));
            }
        }
        // Drop slots whose replacement failed, so poll() does not spin on them. With no worker
        // left, fail what is queued and stop, rather than hang every waiter.
        std::deque<Request> orphans;
        {
            const std::lock_guard lock(mutex_);
            std::erase_if(workers_, [](const Worker& w) { return w.pid < 0; });
            if (workers_.empty()) {
                orphans.swap(pending_);
                stopping_ = true;
            }
        }
        for (auto& req : orphans) {
            if (req.state->start()) {
                complete(req,
                         std::make_exception_ptr(WorkerCrashed(
                             "lesson7: no worker process could be started; the pool stopped")));
            }
        }
    }

    // Shutdown: closing the request pipes is the workers' signal to exit; then reap every one.
    std::vector<Worker> finished;
    {
        const std::lock_guard lock(mutex_);
        finished.swap(workers_);
    }
    for (auto& w : finished) {
        ::close(w.request_fd);
    }
    for (auto& w : finished) {
        int status = 0;
        reap(w.pid, status);
        ::close(w.reply_fd);
    }
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
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_write_, &byte, 1);
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
    for (const auto& w : workers_) {
        pids.push_back(w.pid);
    }
    return pids;
}

std::uint64_t ProcessPool::workers_started() const {
    const std::lock_guard lock(mutex_);
    return started_;
}

}  // namespace lesson7
