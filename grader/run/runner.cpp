// Runs a test command once under kit-run's limits, watches it, and kills whatever it leaves behind.
#include "run/runner.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "common/record_format.hpp"
#include "common/spawn.hpp"
#include "run/child.hpp"
#include "run/hang.hpp"
#include "run/proc.hpp"
#include "run/pump.hpp"

namespace kit {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Clock::duration seconds(double value) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(value));
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

// The watchdog over the whole tree below kit-run: process count and memory.
StopReason check_tree(const Limits& limits, std::string& detail) {
    int live = 0;
    std::uint64_t rss = 0;
    for (const auto& info : descendants_of(::getpid())) {
        live += info.state != 'Z' ? 1 : 0;
        rss += info.rss_bytes;
    }
    if (live > limits.max_processes) {
        detail = std::to_string(live);
        return StopReason::too_many_processes;
    }
    if (rss > limits.memory_bytes) {
        detail = std::to_string(rss >> 20U);
        return StopReason::too_much_memory;
    }
    return StopReason::none;
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

Runner::Started Runner::start(const std::vector<std::string>& env, const std::string& key,
                              const RunPaths& paths, RawRun& raw) {
    Started started;
    Pipe output;
    if (paths.log) {
        output = make_pipe();
        started.log = open_fd(*paths.log, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW);
        if (!started.log.valid()) {
            throw std::runtime_error("kit-run: cannot create " + paths.log->string() + ": " +
                                     std::strerror(errno));
        }
    }
    Pipe key_pipe = make_pipe();
    Pipe record_pipe = make_pipe();
    Pipe error_pipe = make_pipe();
    const Fd dev_null = open_fd("/dev/null", O_RDONLY);
    // The key fits in the pipe buffer, so writing it now cannot block; the child reads it and EOF.
    static_cast<void>(write_all(key_pipe.write.get(), key));
    key_pipe.write.reset();

    SpawnRequest request;
    request.env = env;
    request.env.push_back(std::string(record::key_fd_env) + "=" + std::to_string(record::key_fd));
    request.env.push_back(std::string(record::record_fd_env) + "=" +
                          std::to_string(record::record_fd));
    ChildPlan plan{::getpid(), limits_for(config_), config_.drop_privileges, config_.run_uid,
                   config_.run_gid};
    request.argv = exec_child_argv(plan, config_.command);
    request.new_process_group = true;
    request.fds = {{record::key_fd, key_pipe.read.get()},
                   {record::record_fd, record_pipe.write.get()},
                   {exec_error_fd, error_pipe.write.get()}};
    if (dev_null.valid()) {
        request.fds.emplace_back(0, dev_null.get());
    }
    request.fds.emplace_back(1, output.write.valid() ? output.write.get() : STDOUT_FILENO);
    request.fds.emplace_back(2, output.write.valid() ? output.write.get() : STDERR_FILENO);
    int error = 0;
    started.pid = spawn(request, error);
    started.at = Clock::now();
    if (started.pid < 0) {
        raw.start_error = std::string("kit-run cannot start the test: ") + std::strerror(error) +
                          (error == EAGAIN ? " (no process slot left: the machine's or this "
                                             "user's process limit is reached)"
                                           : "");
        raw.start_retryable = error == EAGAIN;
        return started;
    }
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
        ::waitpid(started.pid, &status, 0);
        raw.start_error = describe_child_error(report, config_);
        raw.start_retryable = report.error == EAGAIN;
        started.pid = -1;
        return started;
    }
    started.pump = std::make_unique<OutputPump>(std::move(output.read), std::move(record_pipe.read),
                                                started.log.get(), signal_fd_,
                                                config_.limits.output_cap_bytes);
    return started;
}

Runner::Deadlines Runner::deadlines(Clock::time_point start) const {
    Deadlines d;
    d.run = start + seconds(config_.timeout_seconds);
    d.gdb = Clock::time_point::max();
    // meson's ceiling covers every repeat: keep a quarter of it (at most 15 s) for the last
    // run's hang investigation and verdict.
    const double ceiling = config_.ceiling_seconds;
    if (ceiling > 0) {
        const auto hard_end = born_ + seconds(ceiling);
        d.run = std::min(d.run, hard_end - seconds(std::min(15.0, 0.25 * ceiling)));
        d.gdb = hard_end - milliseconds(700);
    }
    return d;
}

bool Runner::watch(const Started& started, const Deadlines& limits, RawRun& raw, int& status) {
    auto next_watch = started.at + milliseconds(250);
    while (true) {
        const auto now = Clock::now();
        const auto until = std::min(limits.run, now + milliseconds(50));
        started.pump->pump(std::chrono::duration_cast<milliseconds>(until - now) + milliseconds(1));
        if (::waitpid(started.pid, &status, WNOHANG) == started.pid) {
            return true;
        }
        if (started.pump->interrupted()) {
            raw.stop = StopReason::interrupted;
            raw.stop_detail = started.pump->interrupt_signal();
            return false;
        }
        if (Clock::now() >= limits.run) {
            raw.stop = StopReason::timeout;
            return false;
        }
        if (Clock::now() >= next_watch) {
            next_watch = Clock::now() + milliseconds(250);
            raw.stop = check_tree(config_.limits, raw.stop_detail);
            if (raw.stop != StopReason::none) {
                return false;
            }
        }
    }
}

void Runner::investigate_hang(const Started& started, const Deadlines& limits,
                              const RunPaths& paths, RawRun& raw) {
    HangLook look = classify_hang(::getpid(), *started.pump);
    const Fd trace = paths.backtrace
                         ? open_fd(*paths.backtrace, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW)
                         : Fd(::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 10));
    static_cast<void>(
        write_all(trace.get(), thread_table(config_.item, raw.timeout_seconds, look)));
    const auto gdb_deadline = std::min(Clock::now() + std::chrono::seconds(20), limits.gdb);
    look.report.gdb_note = capture_backtrace(started.pid, trace.get(), gdb_deadline, *started.pump);
    raw.hang = look.report;
}

RawRun Runner::run(const std::vector<std::string>& env, const std::string& key,
                   const RunPaths& paths) {
    RawRun raw;
    Started started = start(env, key, paths, raw);
    // No process slot is the machine's problem, not the test's: wait a little and try again
    // (about 9 s in all), then report that the test could not start (kit-grade: could not grade).
    for (int attempt = 1; started.pid < 0 && raw.start_retryable && attempt <= 8; ++attempt) {
        std::this_thread::sleep_for(milliseconds(250) * attempt);
        raw = RawRun{};
        started = start(env, key, paths, raw);
    }
    if (started.pid < 0) {
        return raw;
    }
    const Deadlines limits = deadlines(started.at);
    raw.timeout_seconds = std::chrono::duration<double>(limits.run - started.at).count();
    int status = 0;
    const bool reaped = watch(started, limits, raw, status);
    if (raw.stop == StopReason::timeout) {
        investigate_hang(started, limits, paths, raw);
    }
    if (!reaped) {
        ::kill(-started.pid, SIGKILL);
        ::kill(started.pid, SIGKILL);
        const auto give_up = Clock::now() + std::chrono::seconds(5);
        while (::waitpid(started.pid, &status, WNOHANG) == 0 && Clock::now() < give_up) {
            started.pump->pump(milliseconds(10));
        }
    }
    raw.seconds = std::chrono::duration<double>(Clock::now() - started.at).count();
    if (WIFEXITED(status)) {
        raw.exited = true;
        raw.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        raw.signal = WTERMSIG(status);
    }
    const int killed =
        kill_process_tree(::getpid(), started.pid, std::chrono::seconds(5), raw.stuck);
    raw.leftover = reaped ? killed : 0;
    // Every writer is dead now (or stuck): read what is left, but never wait long.
    started.pump->drain(milliseconds(raw.stuck > 0 ? 200 : 2000));
    started.pump->note_dropped_output();
    interrupted_ = interrupted_ || started.pump->interrupted();
    raw.record = started.pump->record();
    raw.record_overflow = started.pump->record_overflow();
    raw.output_bytes = started.pump->output_bytes();
    raw.dropped_bytes = started.pump->dropped_bytes();
    return raw;
}

}  // namespace kit
