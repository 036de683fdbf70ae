// Hang investigation for kit-run: deadlock or busy, the thread table, gdb's backtraces.
#include "run/hang.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <sstream>

#include "common/spawn.hpp"

namespace kit {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::vector<TaskInfo> all_threads(pid_t self) {
    std::vector<TaskInfo> out;
    for (const auto& info : descendants_of(self)) {
        const auto tasks = tasks_of(info.pid);
        out.insert(out.end(), tasks.begin(), tasks.end());
    }
    return out;
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

HangLook classify_hang(pid_t self, OutputPump& pump) {
    const std::vector<TaskInfo> first = all_threads(self);
    for (int i = 0; i < 6; ++i) {
        pump.pump(milliseconds(50));
    }
    std::map<pid_t, std::uint64_t> ticks_before;
    bool running = false;
    for (const auto& task : first) {
        ticks_before[task.tid] = task.cpu_ticks;
        running = running || task.state == 'R';
    }
    HangLook look;
    std::vector<TaskInfo> blocked;
    for (const auto& task : all_threads(self)) {
        look.threads.push_back(task);
        const auto before = ticks_before.find(task.tid);
        const bool advanced = before != ticks_before.end() && task.cpu_ticks > before->second;
        if (task.state == 'R' || advanced) {
            running = true;
        } else if (task.state != 'Z') {
            blocked.push_back(task);
        }
    }
    const std::size_t total = look.threads.size();
    look.report.kind = running ? "busy" : "deadlock";
    look.report.summary = running ? std::to_string(total - blocked.size()) + " of " +
                                        std::to_string(total) +
                                        " threads kept running (an endless loop or a livelock)"
                                  : "all " + std::to_string(blocked.size()) + " threads blocked (" +
                                        blocked_summary(blocked) + ")";
    return look;
}

std::string thread_table(const std::string& item, double timeout_seconds, const HangLook& look) {
    std::ostringstream secs;
    secs.precision(1);
    secs << std::fixed << timeout_seconds;
    std::string table = "kit-run: " + item + " timed out after " + secs.str() +
                        " s: " + look.report.kind + ": " + look.report.summary +
                        "\n  pid     tid     state cpu_ticks wchan (comm)\n";
    for (const auto& task : look.threads) {
        table += "  " + std::to_string(task.pid) + "  " + std::to_string(task.tid) + "  " +
                 task.state + "  " + std::to_string(task.cpu_ticks) + "  " +
                 (task.wchan.empty() ? "-" : task.wchan) + " (" + task.comm + ")\n";
    }
    return table + "\n";
}

std::string capture_backtrace(pid_t target, int trace_fd, Clock::time_point deadline,
                              OutputPump& pump) {
    if (Clock::now() + milliseconds(500) >= deadline) {
        return "no backtrace: no time left for gdb before meson's own timeout";
    }
    const Fd dev_null = open_fd("/dev/null", O_RDONLY);
    SpawnRequest request;
    // gdb is a debugging aid only; it runs as kit-run's user with kit-run's environment.
    request.argv = {"gdb",
                    "-nx",
                    "-batch",
                    "-p",
                    std::to_string(target),
                    "-ex",
                    "set pagination off",
                    "-ex",
                    "thread apply all bt"};
    request.env = current_environment();
    request.fds = {{1, trace_fd}, {2, trace_fd}};
    if (dev_null.valid()) {
        request.fds.emplace_back(0, dev_null.get());
    }
    int error = 0;
    const pid_t gdb = spawn(request, error);
    if (gdb < 0) {
        return error == ENOENT ? "gdb is not installed, so no backtrace (apt-get install gdb)"
                               : std::string("could not run gdb: ") + std::strerror(error);
    }
    // gdb must finish before meson's own timeout (the ceiling) ends kit-run.
    int status = 0;
    while (::waitpid(gdb, &status, WNOHANG) == 0) {
        if (Clock::now() > deadline || pump.interrupted()) {
            ::kill(gdb, SIGKILL);
            ::waitpid(gdb, &status, 0);
            return pump.interrupted() ? "gdb was stopped: kit-run was interrupted"
                                      : "gdb took too long and was stopped";
        }
        pump.pump(milliseconds(50));
    }
    return {};
}

}  // namespace kit
