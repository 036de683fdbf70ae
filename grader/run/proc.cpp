// Reads /proc for kit-run: the process tree under kit-run, thread states, memory, and killing it
// all.
#include "run/proc.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace kit {
namespace {

std::string read_small_file(const std::string& path) {
    std::ifstream in(path);
    std::string text;
    std::getline(in, text, '\0');
    return text;
}

// Parses the fields after "(comm)" in a stat line; comm may hold spaces and parentheses.
bool parse_stat(const std::string& text, std::string& comm, std::vector<std::string>& fields) {
    const std::size_t open = text.find('(');
    const std::size_t close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) {
        return false;
    }
    comm = text.substr(open + 1, close - open - 1);
    std::istringstream rest(text.substr(close + 1));
    fields.clear();
    std::string field;
    while (rest >> field) {
        fields.push_back(field);
    }
    return fields.size() > 12;  // state(0) ppid(1) pgrp(2) ... utime(11) stime(12)
}

std::uint64_t to_u64(const std::string& text) {
    try {
        return std::stoull(text);
    } catch (const std::exception&) {
        return 0;
    }
}

long page_size() {
    static const long size = ::sysconf(_SC_PAGESIZE);
    return size > 0 ? size : 4096;
}

std::vector<ProcInfo> all_processes() {
    std::vector<ProcInfo> out;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end;
         it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::string comm;
        std::vector<std::string> fields;
        if (!parse_stat(read_small_file("/proc/" + name + "/stat"), comm, fields)) {
            continue;
        }
        ProcInfo info;
        info.pid = static_cast<pid_t>(to_u64(name));
        info.state = fields[0].empty() ? '?' : fields[0][0];
        info.ppid = static_cast<pid_t>(to_u64(fields[1]));
        info.pgrp = static_cast<pid_t>(to_u64(fields[2]));
        info.cpu_ticks = to_u64(fields[11]) + to_u64(fields[12]);
        info.start_ticks = fields.size() > 19 ? to_u64(fields[19]) : 0;
        out.push_back(info);
    }
    return out;
}

}  // namespace

std::vector<ProcInfo> descendants_of(pid_t root) {
    const auto all = all_processes();
    std::multimap<pid_t, const ProcInfo*> children;
    for (const auto& info : all) {
        children.emplace(info.ppid, &info);
    }
    std::vector<ProcInfo> out;
    std::vector<pid_t> pending{root};
    while (!pending.empty() && out.size() < 100000) {
        const pid_t parent = pending.back();
        pending.pop_back();
        const auto range = children.equal_range(parent);
        for (auto it = range.first; it != range.second; ++it) {
            ProcInfo info = *it->second;
            std::istringstream statm(
                read_small_file("/proc/" + std::to_string(info.pid) + "/statm"));
            std::uint64_t size_pages = 0;
            std::uint64_t rss_pages = 0;
            statm >> size_pages >> rss_pages;
            info.rss_bytes = rss_pages * static_cast<std::uint64_t>(page_size());
            out.push_back(info);
            pending.push_back(info.pid);
        }
    }
    return out;
}

double uptime_seconds() {
    std::istringstream in(read_small_file("/proc/uptime"));
    double seconds = 0;
    in >> seconds;
    return seconds;
}

long ticks_per_second() {
    static const long ticks = ::sysconf(_SC_CLK_TCK);
    return ticks > 0 ? ticks : 100;
}

std::vector<TaskInfo> tasks_of(pid_t pid) {
    std::vector<TaskInfo> out;
    const std::string base = "/proc/" + std::to_string(pid) + "/task";
    std::error_code ec;
    for (std::filesystem::directory_iterator it(base, ec), end; !ec && it != end;
         it.increment(ec)) {
        const std::string tid = it->path().filename().string();
        std::string comm;
        std::vector<std::string> fields;
        std::string task_dir = base;
        task_dir.append("/").append(tid);
        if (!parse_stat(read_small_file(task_dir + "/stat"), comm, fields)) {
            continue;
        }
        TaskInfo task;
        task.pid = pid;
        task.tid = static_cast<pid_t>(to_u64(tid));
        task.comm = comm;
        task.state = fields[0].empty() ? '?' : fields[0][0];
        task.cpu_ticks = to_u64(fields[11]) + to_u64(fields[12]);
        task.wchan = read_small_file(task_dir + "/wchan");
        const std::string syscall = read_small_file(task_dir + "/syscall");
        if (syscall.rfind("running", 0) == 0) {
            task.syscall = -1;
        } else if (!syscall.empty()) {
            try {
                task.syscall = std::stol(syscall);
            } catch (const std::exception&) {
                task.syscall = -2;
            }
        }
        out.push_back(task);
    }
    return out;
}

int kill_process_tree(pid_t self, pid_t pgrp, std::chrono::milliseconds budget, int& stuck) {
    const auto deadline = std::chrono::steady_clock::now() + budget;
    std::map<pid_t, bool> seen_alive;
    stuck = 0;
    for (;;) {
        if (pgrp > 1) {
            ::kill(-pgrp, SIGKILL);
        }
        const auto below = descendants_of(self);
        for (const auto& info : below) {
            if (info.state != 'Z') {
                seen_alive[info.pid] = true;
            }
            ::kill(info.pid, SIGKILL);
        }
        int status = 0;
        pid_t reaped = 0;
        while ((reaped = ::waitpid(-1, &status, WNOHANG)) > 0) {
        }
        if (reaped < 0 && errno == ECHILD && descendants_of(self).empty()) {
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            stuck = static_cast<int>(descendants_of(self).size());
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return static_cast<int>(seen_alive.size());
}

std::string signal_name(int signal) {
    static const std::map<int, std::string> names = {
        {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
        {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
        {SIGKILL, "SIGKILL"}, {SIGSEGV, "SIGSEGV"}, {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"},
        {SIGTERM, "SIGTERM"}, {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"},
    };
    const auto it = names.find(signal);
    const std::string name = it != names.end() ? it->second : "signal " + std::to_string(signal);
    const char* text = ::strsignal(signal);
    return text != nullptr ? name + " (" + text + ")" : name;
}

}  // namespace kit
