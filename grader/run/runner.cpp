// Runs a test command once under kit-run's limits, watches it, and kills whatever it leaves behind.
#include "run/runner.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "common/record_format.hpp"
#include "run/proc.hpp"

namespace kit {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t record_cap = 4U << 20U;
constexpr int error_fd = 5;  // the child's exec-error pipe, above the record fds

// A file descriptor that closes itself.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    [[nodiscard]] int get() const { return fd_; }
    [[nodiscard]] bool valid() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }

  private:
    int fd_ = -1;
};

struct Pipe {
    Fd read;
    Fd write;
};

Pipe make_pipe() {
    std::array<int, 2> fds{-1, -1};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("kit-run: pipe2 failed: ") + std::strerror(errno));
    }
    return {Fd(fds[0]), Fd(fds[1])};
}

void set_nonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;  // a closed stdout (EPIPE) must not stop the run
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

// What the child reports through the exec-error pipe when it cannot start the command.
struct ChildError {
    int stage = 0;  // 1 fds, 2 limits, 3 user switch, 4 exec
    int error = 0;
};

// Everything the child needs, prepared before fork() so the child only makes system calls.
struct ChildSetup {
    std::vector<char*> argv;
    std::vector<char*> envp;
    int stdin_fd = -1;
    int output_fd = -1;  // -1: keep kit-run's stdout and stderr
    int key_fd = -1;
    int record_fd = -1;
    int error_fd = -1;
    pid_t parent = 0;
    std::vector<std::pair<int, rlimit>> limits;
    bool drop = false;
    uid_t uid = 0;
    gid_t gid = 0;
};

[[noreturn]] void child_fail(int stage) {
    const ChildError report{stage, errno};
    const ssize_t ignored = ::write(error_fd, &report, sizeof report);
    static_cast<void>(ignored);
    ::_exit(127);
}

// Runs in the forked child: only async-signal-safe calls from here to execvpe().
[[noreturn]] void child_exec(const ChildSetup& setup) {
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    static_cast<void>(::signal(SIGPIPE, SIG_DFL));
    ::setpgid(0, 0);

    // Move every fd we keep above the target numbers first so no dup2 clobbers another.
    const int high_key = ::fcntl(setup.key_fd, F_DUPFD, 10);
    const int high_record = ::fcntl(setup.record_fd, F_DUPFD, 10);
    const int high_error = ::fcntl(setup.error_fd, F_DUPFD, 10);
    const int high_output = setup.output_fd >= 0 ? ::fcntl(setup.output_fd, F_DUPFD, 10) : -1;
    if (high_key < 0 || high_record < 0 || high_error < 0 ||
        ::dup2(high_error, error_fd) != error_fd || ::fcntl(error_fd, F_SETFD, FD_CLOEXEC) != 0) {
        ::_exit(126);
    }
    if (::dup2(setup.stdin_fd, 0) != 0 || ::dup2(high_key, record::key_fd) != record::key_fd ||
        ::dup2(high_record, record::record_fd) != record::record_fd) {
        child_fail(1);
    }
    if (high_output >= 0 && (::dup2(high_output, 1) != 1 || ::dup2(high_output, 2) != 2)) {
        child_fail(1);
    }
    if (::close_range(error_fd + 1, ~0U, 0) != 0) {
        for (int fd = error_fd + 1; fd < 4096; ++fd) {
            ::close(fd);
        }
    }
    for (const auto& [resource, limit] : setup.limits) {
        if (::setrlimit(static_cast<__rlimit_resource>(resource), &limit) != 0) {
            child_fail(2);
        }
    }
    if (setup.drop &&
        (::setgroups(0, nullptr) != 0 || ::setgid(setup.gid) != 0 || ::setuid(setup.uid) != 0)) {
        child_fail(3);
    }
    // Set after the user switch, which clears it: if kit-run dies, the test dies with it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != setup.parent) {
        ::_exit(125);
    }
    ::execvpe(setup.argv[0], setup.argv.data(), setup.envp.data());
    child_fail(4);
}

std::string describe_child_error(const ChildError& report, const Config& config) {
    const std::string why = std::strerror(report.error);
    switch (report.stage) {
        case 1:
            return "could not set up the test's file descriptors: " + why;
        case 2:
            return "could not apply the resource limits: " + why;
        case 3:
            return "could not switch to user " + config.run_user + ": " + why +
                   " (set KIT_RUN_USER=root to keep root)";
        default:
            return "could not start " + config.command.front() + " as user " + config.run_user +
                   ": " + why +
                   (report.error == EACCES
                        ? " (the user cannot read or enter that path; KIT_RUN_USER=root avoids it)"
                        : "");
    }
}

std::vector<std::pair<int, rlimit>> limits_for(const Config& config) {
    const auto cpus = std::max(2U, std::thread::hardware_concurrency());
    // A backstop behind the wall-clock timeout: enough for every core busy for the whole timeout.
    const auto cpu = static_cast<rlim_t>(std::ceil(config.timeout_seconds * cpus)) + 5;
    std::vector<std::pair<int, rlimit>> limits = {
        {RLIMIT_CPU, {cpu, cpu + 5}},
        {RLIMIT_FSIZE, {config.limits.file_size_bytes, config.limits.file_size_bytes}},
        {RLIMIT_CORE, {0, 0}},
    };
    if (!config.sanitizer) {
        // Sanitizers reserve terabytes of address space for shadow memory; only plain builds.
        limits.push_back(
            {RLIMIT_AS, {config.limits.address_space_bytes, config.limits.address_space_bytes}});
    }
    if (config.drop_privileges || ::geteuid() != 0) {
        // Root ignores RLIMIT_NPROC, so it only means something for an unprivileged user. It
        // counts every process and thread of that user, so it is generous; the watchdog on the
        // process tree (max_processes) is the tight limit.
        limits.push_back({RLIMIT_NPROC, {config.limits.nproc, config.limits.nproc}});
    }
    return limits;
}

std::string blocked_summary(const std::vector<TaskInfo>& tasks) {
    std::map<std::string, int> counts;
    for (const auto& task : tasks) {
        std::string where = task.wchan.empty() || task.wchan == "0" ? "" : task.wchan;
        if (where.empty()) {
            where = task.syscall >= 0 ? "syscall " + std::to_string(task.syscall)
                                      : std::string("state ") + task.state;
        }
        ++counts[where];
    }
    std::string out;
    for (const auto& [where, count] : counts) {
        out += (out.empty() ? "" : ", ") + where + " x" + std::to_string(count);
    }
    return out;
}

}  // namespace

Runner::Runner(const Config& config) : config_(config), born_(Clock::now()) {
    // Orphans of the test (daemons that setsid() away) are re-parented to us, not to init.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    static_cast<void>(::signal(SIGPIPE, SIG_IGN));
    sigset_t stop_signals;
    ::sigemptyset(&stop_signals);
    ::sigaddset(&stop_signals, SIGTERM);
    ::sigaddset(&stop_signals, SIGINT);
    ::sigaddset(&stop_signals, SIGHUP);
    ::sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
    signal_fd_ = ::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
}

Runner::~Runner() {
    if (signal_fd_ >= 0) {
        ::close(signal_fd_);
    }
}

RawRun Runner::run(const std::vector<std::string>& env, const std::string& key,
                   const RunPaths& paths) {
    RawRun raw;
    const bool capture = paths.log.has_value();
    Pipe output;
    Fd log_fd;
    if (capture) {
        output = make_pipe();
        log_fd.reset(::open(paths.log->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!log_fd.valid()) {
            throw std::runtime_error("kit-run: cannot create " + paths.log->string() + ": " +
                                     std::strerror(errno));
        }
    }
    Pipe key_pipe = make_pipe();
    Pipe record_pipe = make_pipe();
    Pipe error_pipe = make_pipe();
    Fd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    // The key fits in the pipe buffer, so writing it now cannot block; the child reads it and EOF.
    write_all(key_pipe.write.get(), key);
    key_pipe.write.reset();

    std::vector<std::string> env_all = env;
    env_all.push_back(std::string(record::key_fd_env) + "=" + std::to_string(record::key_fd));
    env_all.push_back(std::string(record::record_fd_env) + "=" + std::to_string(record::record_fd));
    ChildSetup setup;
    for (const auto& arg : config_.command) {
        setup.argv.push_back(const_cast<char*>(arg.c_str()));
    }
    setup.argv.push_back(nullptr);
    for (const auto& entry : env_all) {
        setup.envp.push_back(const_cast<char*>(entry.c_str()));
    }
    setup.envp.push_back(nullptr);
    setup.stdin_fd = dev_null.get();
    setup.output_fd = capture ? output.write.get() : -1;
    setup.key_fd = key_pipe.read.get();
    setup.record_fd = record_pipe.write.get();
    setup.error_fd = error_pipe.write.get();
    setup.parent = ::getpid();
    setup.limits = limits_for(config_);
    setup.drop = config_.drop_privileges;
    setup.uid = config_.run_uid;
    setup.gid = config_.run_gid;

    static_cast<void>(std::fflush(stdout));  // the child must not inherit buffered output
    const auto start = Clock::now();
    const pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error(std::string("kit-run: fork failed: ") + std::strerror(errno));
    }
    if (pid == 0) {
        child_exec(setup);
    }
    ::setpgid(pid, pid);  // also done in the child; whichever runs first wins the race
    output.write.reset();
    key_pipe.read.reset();
    record_pipe.write.reset();
    error_pipe.write.reset();

    ChildError report;
    ssize_t got = 0;
    do {
        got = ::read(error_pipe.read.get(), &report, sizeof report);
    } while (got < 0 && errno == EINTR);
    if (got > 0) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        raw.start_error = describe_child_error(report, config_);
        return raw;
    }

    if (output.read.valid()) {
        set_nonblocking(output.read.get());
    }
    set_nonblocking(record_pipe.read.get());
    const std::uint64_t cap = config_.limits.output_cap_bytes;
    // Reads whatever is ready; returns after `wait` at most.
    const auto pump = [&](milliseconds wait) {
        std::array<pollfd, 3> fds{};
        nfds_t count = 0;
        const auto add = [&](int fd) {
            if (fd >= 0) {
                fds.at(count++) = pollfd{fd, POLLIN, 0};
            }
        };
        add(output.read.get());
        add(record_pipe.read.get());
        add(signal_fd_);
        ::poll(fds.data(), count, static_cast<int>(wait.count()));
        std::array<char, 65536> buffer{};
        for (nfds_t i = 0; i < count; ++i) {
            if ((fds.at(i).revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
                continue;
            }
            const int fd = fds.at(i).fd;
            if (fd == signal_fd_) {
                signalfd_siginfo info{};
                while (::read(signal_fd_, &info, sizeof info) ==
                       static_cast<ssize_t>(sizeof info)) {
                    interrupted_ = true;
                    raw.stop_detail = signal_name(static_cast<int>(info.ssi_signo));
                }
                continue;
            }
            // Bounded: a flood must not starve the timeout checks.
            for (int rounds = 0; rounds < 16; ++rounds) {
                const ssize_t n = ::read(fd, buffer.data(), buffer.size());
                if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
                    (fd == output.read.get() ? output.read : record_pipe.read).reset();
                    break;
                }
                if (n < 0) {
                    break;
                }
                const std::string_view chunk(buffer.data(), static_cast<std::size_t>(n));
                if (fd == record_pipe.read.get()) {
                    if (raw.record.size() + chunk.size() > record_cap) {
                        raw.record_overflow = true;
                    } else {
                        raw.record.append(chunk);
                    }
                    continue;
                }
                const std::uint64_t room = cap > raw.output_bytes ? cap - raw.output_bytes : 0;
                const std::string_view kept =
                    chunk.substr(0, std::min<std::uint64_t>(room, chunk.size()));
                write_all(log_fd.get(), kept);
                write_all(STDOUT_FILENO, kept);
                raw.output_bytes += kept.size();
                raw.dropped_bytes += chunk.size() - kept.size();
            }
        }
    };

    const auto seconds = [](double value) {
        return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(value));
    };
    auto deadline = start + seconds(config_.timeout_seconds);
    // meson's ceiling covers every repeat: keep a quarter of it (at most 15 s) for the last
    // run's hang investigation and verdict.
    const double ceiling = config_.ceiling_seconds;
    const auto hard_end = born_ + seconds(ceiling);
    if (ceiling > 0) {
        deadline = std::min(deadline, hard_end - seconds(std::min(15.0, 0.25 * ceiling)));
    }
    raw.timeout_seconds = std::chrono::duration<double>(deadline - start).count();
    auto next_watch = start + milliseconds(250);
    bool reaped = false;
    int status = 0;
    while (true) {
        const auto now = Clock::now();
        const auto until = std::min(deadline, now + milliseconds(50));
        pump(std::chrono::duration_cast<milliseconds>(until - now) + milliseconds(1));
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            reaped = true;
            break;
        }
        if (interrupted_) {
            raw.stop = StopReason::interrupted;
            break;
        }
        if (Clock::now() >= deadline) {
            raw.stop = StopReason::timeout;
            break;
        }
        if (Clock::now() >= next_watch) {
            next_watch = Clock::now() + milliseconds(250);
            const auto tree = descendants_of(::getpid());
            int live = 0;
            std::uint64_t rss = 0;
            for (const auto& info : tree) {
                live += info.state != 'Z' ? 1 : 0;
                rss += info.rss_bytes;
            }
            if (live > config_.limits.max_processes) {
                raw.stop = StopReason::too_many_processes;
                raw.stop_detail = std::to_string(live);
                break;
            }
            if (rss > config_.limits.memory_bytes) {
                raw.stop = StopReason::too_much_memory;
                raw.stop_detail = std::to_string(rss >> 20U);
                break;
            }
        }
    }

    if (raw.stop == StopReason::timeout) {
        // Classify the hang from two looks at every thread, 300 ms apart, draining output so a
        // writer blocked on a full pipe is not mistaken for a deadlock.
        std::vector<TaskInfo> first;
        for (const auto& info : descendants_of(::getpid())) {
            const auto tasks = tasks_of(info.pid);
            first.insert(first.end(), tasks.begin(), tasks.end());
        }
        for (int i = 0; i < 6; ++i) {
            pump(milliseconds(50));
        }
        std::map<pid_t, std::uint64_t> ticks_before;
        bool running = false;
        for (const auto& task : first) {
            ticks_before[task.tid] = task.cpu_ticks;
            running = running || task.state == 'R';
        }
        std::vector<TaskInfo> second;
        std::vector<TaskInfo> blocked;
        for (const auto& info : descendants_of(::getpid())) {
            for (const auto& task : tasks_of(info.pid)) {
                second.push_back(task);
                const auto before = ticks_before.find(task.tid);
                const bool advanced =
                    before != ticks_before.end() && task.cpu_ticks > before->second;
                if (task.state == 'R' || advanced) {
                    running = true;
                } else if (task.state != 'Z') {
                    blocked.push_back(task);
                }
            }
        }
        HangReport hang;
        hang.kind = running ? "busy" : "deadlock";
        hang.summary = running ? std::to_string(second.size() - blocked.size()) + " of " +
                                     std::to_string(second.size()) +
                                     " threads kept running (an endless loop or a livelock)"
                               : "all " + std::to_string(blocked.size()) + " threads blocked (" +
                                     blocked_summary(blocked) + ")";

        // The thread table, then gdb's backtraces of the main process.
        Fd trace_fd(paths.backtrace ? ::open(paths.backtrace->c_str(),
                                             O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
                                    : ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 10));
        std::ostringstream secs;
        secs.precision(1);
        secs << std::fixed << raw.timeout_seconds;
        std::string table = "kit-run: " + config_.item + " timed out after " + secs.str() +
                            " s: " + hang.kind + ": " + hang.summary +
                            "\n  pid     tid     state cpu_ticks wchan (comm)\n";
        for (const auto& task : second) {
            table += "  " + std::to_string(task.pid) + "  " + std::to_string(task.tid) + "  " +
                     task.state + "  " + std::to_string(task.cpu_ticks) + "  " +
                     (task.wchan.empty() ? "-" : task.wchan) + " (" + task.comm + ")\n";
        }
        table += "\n";
        write_all(trace_fd.get(), table);
        auto gdb_deadline = Clock::now() + std::chrono::seconds(20);
        if (ceiling > 0) {
            gdb_deadline = std::min(gdb_deadline, hard_end - milliseconds(700));
        }
        Pipe gdb_error = make_pipe();
        const bool gdb_has_time = Clock::now() + milliseconds(500) < gdb_deadline;
        const pid_t gdb = gdb_has_time ? ::fork() : -1;
        if (gdb == 0) {
            sigset_t none;
            ::sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            ::dup2(dev_null.get(), 0);
            ::dup2(trace_fd.get(), 1);
            ::dup2(trace_fd.get(), 2);
            const std::string target = std::to_string(pid);
            // gdb is a debugging aid only; it runs as kit-run's user with no special environment.
            ::execlp("gdb", "gdb", "-nx", "-batch", "-p", target.c_str(), "-ex",
                     "set pagination off", "-ex", "thread apply all bt",
                     static_cast<char*>(nullptr));
            const int error = errno;
            const ssize_t ignored = ::write(gdb_error.write.get(), &error, sizeof error);
            static_cast<void>(ignored);
            ::_exit(127);
        }
        gdb_error.write.reset();
        if (!gdb_has_time) {
            hang.gdb_note = "no backtrace: no time left for gdb before meson's own timeout";
        } else if (gdb < 0) {
            hang.gdb_note = "could not fork gdb";
        } else {
            int exec_error = 0;
            if (::read(gdb_error.read.get(), &exec_error, sizeof exec_error) > 0) {
                hang.gdb_note =
                    exec_error == ENOENT
                        ? "gdb is not installed, so no backtrace (apt-get install gdb)"
                        : std::string("could not run gdb: ") + std::strerror(exec_error);
            }
            // gdb must finish before meson's own timeout (the ceiling) ends kit-run.
            int gdb_status = 0;
            while (::waitpid(gdb, &gdb_status, WNOHANG) == 0) {
                if (Clock::now() > gdb_deadline || interrupted_) {
                    ::kill(gdb, SIGKILL);
                    ::waitpid(gdb, &gdb_status, 0);
                    hang.gdb_note = interrupted_ ? "gdb was stopped: kit-run was interrupted"
                                                 : "gdb took too long and was stopped";
                    break;
                }
                pump(milliseconds(50));
            }
        }
        raw.hang = hang;
    }

    if (!reaped) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        const auto give_up = Clock::now() + std::chrono::seconds(5);
        while (::waitpid(pid, &status, WNOHANG) == 0 && Clock::now() < give_up) {
            pump(milliseconds(10));
        }
    }
    raw.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (WIFEXITED(status)) {
        raw.exited = true;
        raw.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        raw.signal = WTERMSIG(status);
    }

    const int killed = kill_process_tree(::getpid(), pid, std::chrono::seconds(5), raw.stuck);
    raw.leftover = reaped ? killed : 0;
    // Every writer is dead now (or stuck): read what is left, but never wait long.
    const auto drain_until = Clock::now() + milliseconds(raw.stuck > 0 ? 200 : 2000);
    while ((output.read.valid() || record_pipe.read.valid()) && Clock::now() < drain_until) {
        pump(milliseconds(20));
    }
    if (raw.dropped_bytes > 0) {
        write_all(log_fd.get(), "\n[kit-run: " + std::to_string(raw.dropped_bytes) +
                                    " more bytes of output were dropped: the log keeps the first " +
                                    std::to_string(cap) + " bytes]\n");
    }
    return raw;
}

}  // namespace kit
