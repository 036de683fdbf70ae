// kit-run's verdict: one file per item and variant, written and signed by kit-run, read and
// verified by kit-grade. This is the one definition of its fields and its JSON.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kit {

// How one run ended, as kit-run judged it.
// not_started: kit-run could not start the test for reasons of its own (no process slot, cannot
// switch user): not the submission's fault, so kit-grade reports "could not grade", never a zero.
enum class RunStatus {
    pass,
    fail,
    timeout,
    crash,
    sanitizer,
    no_record,
    bad_record,
    limit,
    not_started
};

std::string_view to_string(RunStatus status);
// std::nullopt for a word that is not a status.
std::optional<RunStatus> run_status_from(std::string_view word);

// A run kit-run stopped because it hung.
struct Hang {
    std::string kind;       // "deadlock": every thread blocked; "busy": some thread kept running
    std::string backtrace;  // path of the thread table and gdb backtrace, "" when not kept
};

// One run of an item's test binary. The case lists are the completion record's (the names the test
// main signed), so they are exactly what GoogleTest ran.
struct RunVerdict {
    int index = 0;
    RunStatus status = RunStatus::fail;
    int exit_code = -1;  // -1 when it did not exit (signal, or stopped)
    int signal = 0;
    double seconds = 0;
    std::vector<std::string> cases_passed;
    std::vector<std::string> cases_failed;
    std::string log;                          // captured output, "" when not kept
    std::vector<std::string> sanitizer_logs;  // files kit-run read and found to be its test's
    std::optional<Hang> hang;
    std::string reason;              // one line in plain words
    std::vector<std::string> notes;  // remarks: processes left running, output dropped, no gdb
};

struct Verdict {
    std::string item;
    std::string lesson;
    std::string variant;
    int repeat = 1;
    int passed_runs = 0;
    double timeout = 0;  // the wall-clock limit of each run, in seconds
    std::vector<RunVerdict> runs;
    std::string reproduce;  // a shell command that reproduces one run
};

nlohmann::json to_json(const RunVerdict& run);
nlohmann::json to_json(const Verdict& verdict);
// Throw nlohmann::json::exception when a required member is missing or has the wrong type.
RunVerdict run_verdict_from_json(const nlohmann::json& j);
Verdict verdict_from_json(const nlohmann::json& j);

// The signature of a verdict: HMAC-SHA256(secret, canonical) in lowercase hex, where canonical is
// nlohmann::json::dump() (no indent, keys sorted) of the object without its "hmac" member.
std::string verdict_hmac(const nlohmann::json& verdict, std::string_view secret);
// Adds or replaces verdict["hmac"]; an empty secret writes "".
void sign_verdict(nlohmann::json& verdict, std::string_view secret);
// True when verdict["hmac"] is a string equal (in constant time) to verdict_hmac(), secret not "".
bool verify_verdict(const nlohmann::json& verdict, std::string_view secret);

// Whether kit-grade can trust a verdict file.
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

VerdictLoad check_verdict_text(const std::string& text, std::string_view secret);
VerdictLoad load_verdict(const std::filesystem::path& path, std::string_view secret);

// True when there were at least `required_repeat` runs and every one passed (all-N-must-pass).
bool verdict_passes(const Verdict& verdict, int required_repeat);

}  // namespace kit
