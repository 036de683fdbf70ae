// Beside the build: clang-tidy on the student files (cached by content, at most two processes) and
// the flagged source lines (NOLINT, no_sanitize, sanitizer hooks, diagnostic pragmas).
#pragma once

#include <future>
#include <string>
#include <utility>
#include <vector>

#include "pipeline.hpp"

namespace kit::grade {

// clang-tidy running in the background; `future` is not valid when tidy does not run.
struct TidyJob {
    std::future<std::pair<std::vector<Finding>, double>> future;  // findings, seconds
};

// Starts clang-tidy on the compiled student files (it needs only compile_commands.json, so it runs
// beside the builds). Adds a note when clang-tidy is missing. opt and prep must outlive the job.
TidyJob start_tidy(const Options& opt, const Prepared& prep, std::vector<std::string>& notes);

// Lines in student files that switch checks off (with --pristine, only lines the student added).
std::vector<Finding> scan_student_flags(const Options& opt, const Prepared& prep);

}  // namespace kit::grade
