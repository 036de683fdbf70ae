// Judges one run (status and reason in plain words) and builds kit-run's verdict JSON.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/verdict.hpp"
#include "run/config.hpp"
#include "run/record.hpp"
#include "run/runner.hpp"

namespace kit {

// What the sanitizers wrote into a run's log_path directory.
struct SanitizerScan {
    std::vector<std::filesystem::path> logs;  // the files read: regular, not links, the test's own
    bool report = false;                      // some file holds an error report
    std::string headline;  // its first line, e.g. "AddressSanitizer: heap-use-after-free ..."
    std::vector<std::string> refused;  // files left unread, each with the reason
};

// Reads the files in `dir` (missing dir: nothing found) through read_trusted_file: never through a
// symbolic link, only regular files owned by `owner` (the user the test ran as). Never throws.
SanitizerScan scan_sanitizer_logs(const std::filesystem::path& dir, uid_t owner);

// Judges one run: its status, a one-line reason and notes (extra remarks, e.g. processes left
// running, output dropped, no gdb). Pure: reads nothing but its arguments.
RunVerdict judge_run(int index, const RawRun& raw, const RecordCheck& record,
                     const SanitizerScan& sanitizers, const RunPaths& paths, const Config& config);

// The environment the test gets: kit-run's own minus KIT_RUN_SECRET, KIT_OUT, KIT_TIMEOUTS and
// anything named like a credential (*SECRET*, *TOKEN*, *PASSWORD*, *PASSWD*, *CREDENTIAL*,
// *PRIVATE*, *_KEY, *_KEY_*), plus log_path=<sanitizer_dir>/<tool> appended to each
// *SAN_OPTIONS the variant uses (all four when the variant is not asan or tsan) when
// `sanitizer_dir` is not empty.
std::vector<std::string> child_environment(char** environ_in, const std::string& sanitizer_dir,
                                           const Config& config);

// A shell command that reproduces one run by hand (cd, the sanitizer options, the command).
std::string reproduce_command(char** environ_in, const Config& config);

}  // namespace kit
