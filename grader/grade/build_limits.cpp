// The limits of a build step and the report when one is hit (see build_limits.hpp).
#include "build_limits.hpp"

#include <sstream>

#include "common/hmac.hpp"
#include "util.hpp"

namespace kit::grade {

namespace {

bool is_source(const std::string& word) {
    for (const char* ext : {".cpp", ".cc", ".cxx", ".c", ".hpp", ".h"}) {
        if (ends_with(word, ext)) {
            return true;
        }
    }
    return false;
}

// The source file a compiler command line compiles ("" for a link or anything else).
std::string source_of(const std::string& command) {
    std::istringstream words(command);
    std::string word;
    std::string source;
    while (words >> word) {
        if (is_source(word) && word.rfind('-', 0) != 0) {
            source = word;
        }
    }
    return source;
}

// The command line ninja printed under "FAILED: <output>" for the first failed edge whose output
// mentions out of memory.
std::string failed_command_out_of_memory(const std::string& output) {
    const auto lines = split_lines(output);
    std::string command;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (starts_with(lines[i], "FAILED: ")) {
            command = i + 1 < lines.size() ? lines[i + 1] : "";
        }
        const std::string& l = lines[i];
        if (l.find("out of memory allocating") != std::string::npos ||
            l.find("virtual memory exhausted") != std::string::npos ||
            l.find("memory exhausted") != std::string::npos ||
            l.find("std::bad_alloc") != std::string::npos) {
            return command.empty() ? "?" : command;
        }
    }
    return {};
}

Finding limit_finding(const std::string& command, const SourceMap& map, const std::string& what) {
    Finding f;
    f.tool = "compile";
    f.kind = "build-limit";
    const std::string source = source_of(command);
    if (!source.empty()) {
        const Frame frame = map.frame("", source, 0);
        f.file = frame.file;
        f.owner = frame.owner;
    } else {
        f.owner = Owner::provided;
    }
    f.message =
        (f.file.empty() ? std::string("a build process") : "compiling " + f.file) + " " + what;
    f.signature = sha256_hex(f.message).substr(0, 16);
    return f;
}

}  // namespace

void set_build_limits(const Options& opt, ProcessOptions& po) {
    po.step_seconds = opt.build_step_seconds;
    po.process_seconds = opt.build_process_seconds;
    po.memory_bytes = opt.build_memory_mb << 20U;
}

std::vector<Finding> build_limit_findings(const ProcessResult& result, const Options& opt,
                                          const SourceMap& map, const std::string& step) {
    std::vector<Finding> out;
    const std::string seconds = format_seconds(opt.build_process_seconds);
    for (const auto& command : result.killed_processes) {
        if (result.step_timed_out) {
            break;
        }
        std::string what = "ran longer than the " + seconds;
        what += " limit of one build process in the " + step;
        what +=
            " build and was killed: does it #include a device or a file that never ends, or "
            "instantiate templates or macros without bound? (kit-grade --build-process-timeout "
            "raises the limit)";
        out.push_back(limit_finding(command, map, what));
    }
    if (result.step_timed_out) {
        std::string running;
        for (const auto& command : result.killed_processes) {
            const std::string source = source_of(command);
            if (!source.empty()) {
                running = source;
            }
        }
        out.push_back(limit_finding(
            running, map,
            "was still running when the " + step + " build reached its limit of " +
                format_seconds(opt.build_step_seconds) +
                " and was killed with the whole build (kit-grade --build-step-timeout raises it)"));
    }
    const std::string command = failed_command_out_of_memory(result.output);
    if (!command.empty()) {
        out.push_back(limit_finding(
            command, map,
            "ran out of the " + std::to_string(opt.build_memory_mb) +
                " MiB memory limit of one build process in the " + step +
                " build: a template or macro bomb? (kit-grade --build-memory raises the limit)"));
    }
    return out;
}

}  // namespace kit::grade
