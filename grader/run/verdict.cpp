// Judges one run (status and reason in plain words) and builds kit-run's verdict JSON.
#include "run/verdict.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <map>
#include <sstream>

#include "common/json_io.hpp"
#include "common/sanitizer_log.hpp"
#include "common/shell.hpp"
#include "run/proc.hpp"

namespace kit {
namespace {

std::string mib(std::uint64_t bytes) {
    return std::to_string(bytes >> 20U) + " MiB";
}

std::string in_case(const RecordCheck& record) {
    if (!record.open_case.empty()) {
        return " in " + record.open_case;
    }
    if (!record.last_case.empty()) {
        return " after " + record.last_case;
    }
    return "";
}

std::string list_cases(const std::vector<std::string>& cases) {
    std::string out;
    for (std::size_t i = 0; i < cases.size() && i < 5; ++i) {
        out += (i == 0 ? "" : ", ") + cases[i];
    }
    if (cases.size() > 5) {
        out += " and " + std::to_string(cases.size() - 5) + " more";
    }
    return out;
}

std::string upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

bool contains_any(const std::string& text, std::initializer_list<std::string_view> needles) {
    return std::any_of(needles.begin(), needles.end(), [&](std::string_view needle) {
        return text.find(needle) != std::string::npos;
    });
}

// The status and reason for a run that was not stopped by kit-run and did not crash.
std::pair<RunStatus, std::string> judge_exit(const RawRun& raw, const RecordCheck& record) {
    const std::string planned =
        std::to_string(record.cases_passed.size() + record.cases_failed.size());
    if (raw.record_overflow) {
        return {RunStatus::bad_record,
                "the completion record grew past 4 MiB: something other than the "
                "test main wrote to it"};
    }
    if (!record.valid) {
        return {RunStatus::bad_record, "the completion record is invalid (" + record.problem + ")"};
    }
    if (raw.exit_code != 0) {
        if (record.finished) {
            if (!record.cases_failed.empty()) {
                return {RunStatus::fail, std::to_string(record.cases_failed.size()) + " of " +
                                             planned +
                                             " cases failed: " + list_cases(record.cases_failed)};
            }
            return {RunStatus::fail, "exited with code " + std::to_string(raw.exit_code) +
                                         (record.problem.empty() ? "" : ": " + record.problem)};
        }
        if (!record.cases_failed.empty()) {
            return {RunStatus::fail, "exited with code " + std::to_string(raw.exit_code) +
                                         in_case(record) +
                                         " before the tests finished; failed so far: " +
                                         list_cases(record.cases_failed)};
        }
        return {RunStatus::fail,
                "exited with code " + std::to_string(raw.exit_code) + in_case(record) +
                    " before the tests finished (exit() called from the code under test?)"};
    }
    if (!record.started) {
        return {RunStatus::no_record,
                "exited with code 0 but wrote no completion record: the program ended before the "
                "test main's first constructor ran, or it was not linked with the kit's test main"};
    }
    if (!record.finished) {
        if (record.open_case.empty() && record.last_case.empty()) {
            return {RunStatus::no_record,
                    "exited with code 0 before any test ran: exit(), _exit() or quick_exit() was "
                    "called from a static initialiser or before RUN_ALL_TESTS"};
        }
        return {RunStatus::no_record,
                "exited with code 0" + in_case(record) +
                    " before the tests finished: the code under test called exit(), "
                    "_exit() or quick_exit(), so the remaining tests never ran"};
    }
    if (!record.success) {
        if (!record.cases_failed.empty()) {
            return {RunStatus::fail, std::to_string(record.cases_failed.size()) + " of " + planned +
                                         " cases failed: " + list_cases(record.cases_failed)};
        }
        return {RunStatus::fail,
                record.problem.empty() ? "GoogleTest reported a failure" : record.problem};
    }
    return {RunStatus::pass, "all " + planned + " cases passed"};
}

}  // namespace

SanitizerScan scan_sanitizer_logs(const std::filesystem::path& dir, uid_t owner) {
    SanitizerScan scan;
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        std::string error;
        const auto text = read_trusted_file(file, TrustedFile{owner, 16U << 20U}, error);
        if (!text) {
            scan.refused.push_back(error);
            continue;
        }
        scan.logs.push_back(file);
        const SanitizerLog log = parse_sanitizer_text(*text);
        if (log.has_error && !scan.report) {
            scan.report = true;
            scan.headline = log.headline;
        }
    }
    return scan;
}

RunVerdict judge_run(int index, const RawRun& raw, const RecordCheck& record,
                     const SanitizerScan& sanitizers, const RunPaths& paths, const Config& config) {
    RunStatus status = RunStatus::fail;
    std::string reason;
    const std::string where = in_case(record);
    if (!raw.start_error.empty()) {
        status = RunStatus::not_started;
        reason = raw.start_error;
    } else if (raw.stop == StopReason::timeout) {
        status = RunStatus::timeout;
        std::ostringstream secs;
        secs.precision(1);
        secs << std::fixed
             << (raw.timeout_seconds > 0 ? raw.timeout_seconds : config.timeout_seconds);
        reason = "timed out after " + secs.str() + " s" + where + ": " +
                 (raw.hang ? raw.hang->kind + ", " + raw.hang->summary : "no thread information");
    } else if (raw.stop == StopReason::interrupted) {
        status = RunStatus::timeout;
        reason = "stopped by " + raw.stop_detail + where +
                 " (meson test's own timeout is shorter than kit-run's, or someone pressed Ctrl-C)";
    } else if (raw.stop == StopReason::too_many_processes) {
        status = RunStatus::limit;
        reason = "started more than " + std::to_string(config.limits.max_processes) +
                 " processes (" + raw.stop_detail + " alive)" + where + ": a fork bomb?";
    } else if (raw.stop == StopReason::too_much_memory) {
        status = RunStatus::limit;
        reason = "used more than " + mib(config.limits.memory_bytes) + " of memory (" +
                 raw.stop_detail + " MiB)" + where;
    } else if (raw.signal == SIGXCPU) {
        status = RunStatus::limit;
        reason = "used up its CPU-time limit" + where;
    } else if (raw.signal == SIGXFSZ) {
        status = RunStatus::limit;
        reason =
            "wrote a file larger than the " + mib(config.limits.file_size_bytes) + " limit" + where;
    } else if (sanitizers.report) {
        status = RunStatus::sanitizer;
        reason = sanitizers.headline + where;
    } else if (raw.signal != 0) {
        status = RunStatus::crash;
        reason = "killed by " + signal_name(raw.signal) + where;
        if (raw.signal == SIGKILL) {
            reason += " (out of memory, or killed from outside)";
        }
    } else {
        std::tie(status, reason) = judge_exit(raw, record);
    }

    RunVerdict run;
    run.index = index;
    run.status = status;
    run.exit_code = raw.exited ? raw.exit_code : -1;
    run.signal = raw.signal;
    run.seconds = static_cast<double>(static_cast<long long>(raw.seconds * 1000)) / 1000;
    run.log = paths.log ? paths.log->string() : "";
    run.reason = valid_utf8(reason);
    if (raw.leftover > 0) {
        run.notes.push_back("the test left " + std::to_string(raw.leftover) +
                            " process(es) running after it ended; kit-run killed them");
    }
    if (raw.stuck > 0) {
        run.notes.push_back(std::to_string(raw.stuck) +
                            " process(es) could not be killed (uninterruptible sleep)");
    }
    if (raw.dropped_bytes > 0) {
        run.notes.push_back("output beyond " + std::to_string(config.limits.output_cap_bytes) +
                            " bytes was dropped (" + std::to_string(raw.dropped_bytes) + " bytes)");
    }
    if (raw.hang && !raw.hang->gdb_note.empty()) {
        run.notes.push_back(raw.hang->gdb_note);
    }
    if (!sanitizers.report && !sanitizers.logs.empty()) {
        run.notes.emplace_back("the sanitizers wrote a log without an error report");
    }
    for (const auto& refused : sanitizers.refused) {
        run.notes.push_back(valid_utf8("ignored " + refused));
    }
    for (const auto& name : record.cases_passed) {
        run.cases_passed.push_back(valid_utf8(name));
    }
    for (const auto& name : record.cases_failed) {
        run.cases_failed.push_back(valid_utf8(name));
    }
    for (const auto& log : sanitizers.logs) {
        run.sanitizer_logs.push_back(valid_utf8(log.string()));
    }
    if (raw.hang) {
        run.hang = Hang{raw.hang->kind, paths.backtrace ? paths.backtrace->string() : ""};
    }
    return run;
}

std::vector<std::string> child_environment(char** environ_in, const std::string& sanitizer_dir,
                                           const Config& config) {
    static const std::vector<std::string> dropped = {"KIT_RUN_SECRET", "KIT_OUT", "KIT_TIMEOUTS",
                                                     "KIT_KEY_FD", "KIT_RECORD_FD"};
    std::vector<std::string> out;
    std::map<std::string, std::string> options;
    for (char** entry = environ_in; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string text(*entry);
        const std::size_t eq = text.find('=');
        const std::string name = text.substr(0, eq);
        const std::string upper_name = upper(name);
        const bool credential =
            contains_any(upper_name, {"SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL",
                                      "PRIVATE", "_KEY_"}) ||
            (upper_name.size() >= 4 && upper_name.compare(upper_name.size() - 4, 4, "_KEY") == 0);
        if (credential || std::find(dropped.begin(), dropped.end(), name) != dropped.end()) {
            continue;
        }
        if (!sanitizer_dir.empty() && name.size() > 8 &&
            name.compare(name.size() - 8, 8, "_OPTIONS") == 0 &&
            contains_any(name, {"ASAN", "UBSAN", "TSAN", "LSAN"})) {
            options[name] = eq == std::string::npos ? "" : text.substr(eq + 1);
            continue;
        }
        out.push_back(text);
    }
    if (!sanitizer_dir.empty()) {
        // Later flags win, so an appended log_path overrides any earlier one.
        // The variant's tools; when the variant is unknown or says plain for a sanitizer binary,
        // all of them (an option for a tool the binary lacks is never read).
        std::vector<std::string> tools = {"ASAN", "UBSAN", "LSAN", "TSAN"};
        if (config.variant == "asan") {
            tools = {"ASAN", "UBSAN", "LSAN"};
        } else if (config.variant == "tsan") {
            tools = {"TSAN", "UBSAN"};
        }
        for (const auto& tool : tools) {
            const std::string name = tool + "_OPTIONS";
            std::string value = options.count(name) != 0 ? options[name] : "";
            std::string file = tool;
            std::transform(file.begin(), file.end(), file.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            value.append(value.empty() ? "" : ":").append("log_path=").append(sanitizer_dir);
            value.append("/").append(file);
            options[name] = value;
        }
        for (const auto& [name, value] : options) {
            out.push_back(name);
            out.back().append("=").append(value);
        }
    }
    return out;
}

std::string reproduce_command(char** environ_in, const Config& config) {
    std::vector<std::string> words;
    for (char** entry = environ_in; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string text(*entry);
        const std::string name = text.substr(0, text.find('='));
        if (name == "ASAN_OPTIONS" || name == "UBSAN_OPTIONS" || name == "TSAN_OPTIONS" ||
            name == "LSAN_OPTIONS") {
            words.push_back(text);
        }
    }
    std::sort(words.begin(), words.end());
    words.insert(words.end(), config.command.begin(), config.command.end());
    std::error_code ec;
    const auto cwd = std::filesystem::current_path(ec);
    return "cd " + shell_quote(ec ? "." : cwd.string()) + " && " + shell_join(words);
}

}  // namespace kit
