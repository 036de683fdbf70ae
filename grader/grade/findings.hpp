// Findings: sanitizer reports, clang-tidy warnings, compile errors and flagged source lines,
// attributed to owners.
#pragma once

#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kit::grade {

// Who a finding is charged to: the student (a frame or line in a student-owned file), or the
// instructor section (only provided lesson code, or only third-party code such as libstdc++ and the
// sanitizer runtime).
enum class Owner { student, provided, third_party };

std::string owner_name(Owner owner);

// One stack frame of a sanitizer report, with its file mapped relative to the repo root when inside
// it.
struct Frame {
    std::string function;
    std::string file;  // repo-relative when inside the repo, absolute otherwise, "" when unknown
    int line = 0;
    Owner owner = Owner::third_party;
};

struct Finding {
    std::string tool;  // asan, lsan, ubsan, tsan, tidy, flag, compile
    std::string
        kind;  // heap-buffer-overflow, data-race, lock-order-inversion, bugprone-..., NOLINT
    std::string message;  // one line, addresses masked
    std::string file;     // first student-owned frame, else the first frame with a file in the repo
    int line = 0;
    std::string function;
    Owner owner = Owner::third_party;
    std::string signature;           // dedup key (stable across runs and items)
    std::vector<std::string> stack;  // a few short frames "function (file:line)" for the report
    std::set<std::string> where;     // "variant/item" where it was seen
    int count = 1;                   // how many reports merged into this one
};

// Maps printed paths to repo-relative ones and decides who owns them.
struct SourceMap {
    std::filesystem::path root;  // the tree that was built
    std::filesystem::path base;  // directory the compiler ran in (build dir)
    std::function<bool(const std::string&)> is_student;  // repo-relative path -> student-owned?
    Frame frame(std::string function, std::string_view printed_file, int line) const;
    Owner owner_of(const std::string& relative) const;
};

// Parses one sanitizer log (ASan, LSan, UBSan, TSan; several reports per file) into findings.
std::vector<Finding> parse_sanitizer_log(std::string_view text, const SourceMap& map);

// Parses clang-tidy output ("file:line:col: warning: message [check]") into findings.
std::vector<Finding> parse_tidy_output(std::string_view text, const SourceMap& map);

// Compile and link errors from a build log, first ones first, at most max_errors.
std::vector<Finding> parse_compile_errors(std::string_view text, const SourceMap& map,
                                          std::size_t max_errors);

// Lines in a student file that switch checks off or run code before main: NOLINT, no_sanitize,
// constructor attributes, sanitizer default-options/suppression hooks, pragmas that silence
// diagnostics. When baseline (the pristine version of the file) is non-empty, only lines not
// present there are flagged.
std::vector<Finding> scan_flags(std::string_view text, const std::string& relative_path,
                                std::string_view baseline);

// Adds findings to into, merging equal signatures (count and where accumulate); keeps first-seen
// order.
void merge_findings(std::vector<Finding>& into, const std::vector<Finding>& more,
                    const std::string& where);

// Stable ordering for reports: student first, then by tool, file, line, signature.
void sort_findings(std::vector<Finding>& findings);

}  // namespace kit::grade
