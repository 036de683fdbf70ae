// kit-run's verdict files (one per item and variant) and their HMAC check against the per-run
// secret.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kit::grade {

// One run of an item's test binary, as kit-run saw it.
struct RunRecord {
    int index = 0;
    std::string status;  // pass|fail|timeout|crash|sanitizer|no_record|bad_record|limit
    int exit_code = 0;
    int signal = 0;
    double seconds = 0;
    std::vector<std::string> cases_passed;
    std::vector<std::string> cases_failed;
    std::string log;
    std::vector<std::string> sanitizer_logs;
    std::string hang_kind;       // "", "deadlock" or "busy"
    std::string hang_backtrace;  // path of the gdb backtrace, when captured
    std::string reason;
};

struct Verdict {
    std::string item;
    std::string lesson;
    std::string variant;
    int repeat = 1;
    int passed_runs = 0;
    std::vector<RunRecord> runs;
    std::string reproduce;
};

enum class VerdictState {
    verified,    // present and its HMAC matches: its contents can be trusted
    missing,     // no verdict file: kit-run did not finish (or never ran)
    unreadable,  // not JSON or wrong shape
    forged,      // HMAC missing or wrong: written by someone without the secret
};

struct VerdictLoad {
    VerdictState state = VerdictState::missing;
    Verdict verdict;     // filled only when state == verified
    std::string detail;  // why it was rejected
};

// Reads <path>, checks "hmac" = HMAC-SHA256(secret as ASCII, dump() of the object without "hmac").
VerdictLoad load_verdict(const std::filesystem::path& path, const std::string& secret);

// Parses and checks verdict text (exposed for tests).
VerdictLoad check_verdict_text(const std::string& text, const std::string& secret);

// Signs a verdict object the way kit-run does (tests and tools use it).
std::string sign_verdict_text(const std::string& json_without_hmac, const std::string& secret);

// True when every run passed and there were exactly repeat runs: the all-N-must-pass policy.
bool verdict_passes(const Verdict& verdict, int required_repeat);

}  // namespace kit::grade
