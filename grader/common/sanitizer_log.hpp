// The one grammar of sanitizer logs (ASan, LSan, UBSan, TSan): kit-run reads it to judge a run,
// kit-grade to turn reports into findings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kit {

// One "#N ..." stack frame as the sanitizer printed it.
struct LogFrame {
    std::string function;
    std::string file;  // as printed (absolute, or relative to the build dir), "" when unknown
    int line = 0;
};

// One report: a header line plus the stacks and detail lines that follow it.
struct SanitizerReport {
    std::string tool;     // asan, lsan, ubsan, tsan
    std::string kind;     // heap-buffer-overflow, data-race, memory-leak, signed-integer-overflow
    std::string message;  // one line, addresses not yet masked
    std::string primary_file;  // UBSan's own "file:line: runtime error" location
    int primary_line = 0;
    std::vector<std::vector<LogFrame>> stacks;
};

struct SanitizerLog {
    std::vector<SanitizerReport> reports;
    // True when some line says a sanitizer found an error (a report header, "ERROR: ", "SUMMARY: ",
    // "runtime error:"), even one whose layout the report grammar does not know.
    bool has_error = false;
    std::string headline;  // that first error line without "==PID==ERROR: ", at most 200 bytes
};

SanitizerLog parse_sanitizer_text(std::string_view text);

// Replaces hexadecimal addresses (0x...) and pid=/tid= numbers, so that the same bug gives the same
// message in every run.
std::string mask_addresses(std::string_view text);

}  // namespace kit
