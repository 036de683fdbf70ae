// Phase 4, collect: verdicts -> outcomes, sanitizer logs -> findings.
#include "collect.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

#include "cases.hpp"
#include "common/json_io.hpp"
#include "util.hpp"

namespace kit::grade {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The relevant part of a failing run's log: the first failed gtest case, or the tail.
std::string log_excerpt(const std::string& log_path) {
    bool ok = false;
    std::string text = read_file_or_empty(log_path, &ok);
    if (!ok || text.empty()) {
        return {};
    }
    auto lines = split_lines(text);
    std::vector<std::string> pick;
    bool in_case = false;
    for (const auto& l : lines) {
        if (starts_with(l, "[ RUN      ]")) {
            in_case = true;
            pick.clear();
        }
        if (in_case) {
            pick.push_back(l);
        }
        if (starts_with(l, "[  FAILED  ]") && in_case) {
            break;
        }
        if (starts_with(l, "[       OK ]")) {
            in_case = false;
            pick.clear();
        }
    }
    if (pick.empty()) {
        std::size_t from = lines.size() > 15 ? lines.size() - 15 : 0;
        pick.assign(lines.begin() + static_cast<std::ptrdiff_t>(from), lines.end());
    }
    if (pick.size() > 25) {
        pick.resize(25);
        pick.emplace_back("[...]");
    }
    std::string out;
    for (const auto& l : pick) {
        out += (l.size() > 300 ? l.substr(0, 300) + "..." : l) + "\n";
    }
    return strip_ansi(out);
}

// The most telling line of a failure excerpt: a thrown exception's text, else the first hint, else

// Results meson itself recorded (used when kit-run left no verdict).
std::map<std::string, std::string> meson_results(const fs::path& dir) {
    std::map<std::string, std::string> out;
    for (const auto& l : split_lines(read_file_or_empty(dir / "meson-logs" / "testlog.json"))) {
        try {
            json j = json::parse(l);
            out[j.value("name", "")] = j.value("result", "");
        } catch (const json::exception&) {
        }
    }
    return out;
}

}  // namespace

std::string plain_status(const RunVerdict& run) {
    if (!run.reason.empty()) {
        return run.reason;
    }
    if (run.status == RunStatus::timeout) {
        return "timed out";
    }
    if (run.status == RunStatus::crash) {
        return "crashed (signal " + std::to_string(run.signal) + ")";
    }
    if (run.status == RunStatus::sanitizer) {
        return "a sanitizer reported an error";
    }
    if (run.status == RunStatus::no_record || run.status == RunStatus::bad_record) {
        return "the test binary did not finish normally (no verified completion record)";
    }
    return "a test failed (exit status " + std::to_string(run.exit_code) + ")";
}

// The student file a failure points at: a student path named in the log, else the bug zoo's
// mapping.
std::vector<std::string> files_for_item(const Manifest& m, const Item& item,
                                        const std::string& log_text) {
    std::vector<std::string> out;
    for (const auto& s : m.student) {
        std::string file = fs::path(s).filename().string();
        if (log_text.find(file) != std::string::npos) {
            out.push_back(s);
        }
    }
    if (out.empty()) {
        for (const auto& b : m.bugs) {
            if (std::find(b.items.begin(), b.items.end(), item.name) != b.items.end()) {
                std::string p = m.dir + "/src/" + b.file;
                if (std::find(out.begin(), out.end(), p) == out.end()) {
                    out.push_back(p);
                }
            }
        }
    }
    return out;
}

namespace {

// A sanitizer log kit-run listed: read without following links and only as a regular file of the
// test's user, so a file the test swapped for a link (or a hard link to another user's file)
// after kit-run looked is still not read.
std::string read_sanitizer_log(const std::string& path, unsigned test_uid) {
    std::string error;
    return read_trusted_file(path, TrustedFile{test_uid, 16U << 20U}, error).value_or("");
}

// The outcome of a verified verdict.
void judge_verdict(const Verdict& v, const Item& item, const std::string& variant,
                   const std::vector<std::string>* expected, VariantOutcome& o,
                   std::string& logs_seen) {
    int passed = 0;
    for (const auto& run : v.runs) {
        if (run.status == RunStatus::not_started) {
            // The grader's own failure (no process slot, cannot switch user): never a zero.
            throw GradeError("kit-run could not start the test of " + item.name + " [" + variant +
                             "]: " + run.reason +
                             "; nothing was scored, this is no fault of the submission: grade "
                             "again once the machine has free process slots");
        }
        passed += run.status == RunStatus::pass ? 1 : 0;
        for (const auto& note : run.notes) {
            if (std::find(o.notes.begin(), o.notes.end(), note) == o.notes.end()) {
                o.notes.push_back(note);
            }
        }
    }
    o.passed_runs = passed;
    o.timeout = v.timeout;
    o.repeat = std::max(item.repeat, static_cast<int>(v.runs.size()));
    const bool ok = v.item == item.name && v.variant == variant && verdict_passes(v, item.repeat);
    o.state = ok ? OutcomeState::pass : OutcomeState::fail;
    if (ok && expected != nullptr) {
        // A passing record must list exactly the cases the item's sources declare: a filter
        // rewritten inside the test process, or cases registered by student code, fail here.
        for (const auto& run : v.runs) {
            const std::string problem =
                case_list_problem(*expected, run.cases_passed, run.cases_failed);
            if (!problem.empty()) {
                o.state = OutcomeState::fail;
                o.reason = problem;
                o.reproduce = v.reproduce;
                return;
            }
        }
    }
    if (ok) {
        return;
    }
    o.reproduce = v.reproduce;
    for (const auto& run : v.runs) {
        if (run.status != RunStatus::pass) {
            o.reason = plain_status(run);
            if (item.repeat > 1) {
                o.reason = std::to_string(passed) + "/" + std::to_string(v.runs.size()) +
                           " runs passed; run " + std::to_string(run.index) + ": " + o.reason;
            }
            o.excerpt = log_excerpt(run.log);
            o.hang = run.hang ? run.hang->kind : "";
            logs_seen += read_file_or_empty(run.log);
            break;
        }
    }
    if (o.reason.empty()) {
        o.reason = v.item != item.name || v.variant != variant
                       ? "verdict belongs to another item or variant"
                       : "fewer runs than the declared repeat";
    }
}

VariantOutcome outcome(const Pass& pass, const RunSettings& settings, const Item& item, bool graded,
                       const VariantState& st, std::vector<Finding>& findings,
                       std::string& logs_seen) {
    VariantOutcome o;
    o.variant = st.variant;
    o.repeat = item.repeat;
    if (!pass.required(item, st.variant)) {
        o.state = OutcomeState::not_required;
        return o;
    }
    if (!graded) {
        o.state = OutcomeState::not_run;
        return o;
    }
    if (st.binary_ok.count(item.binary) == 0 || !st.binary_ok.at(item.binary)) {
        o.state = OutcomeState::not_built;
        o.reason = "did not compile";
        return o;
    }
    const VerdictLoad vl =
        load_verdict(settings.runs_dir / st.variant / (item.name + ".json"), settings.secret);
    if (vl.state != VerdictState::verified) {
        o.state = OutcomeState::fail;
        auto mr = meson_results(st.dir);
        const std::string meson_result = mr.count(item.test) != 0 ? mr[item.test] : "";
        o.reason = vl.state == VerdictState::missing
                       ? "no verdict from kit-run (the test did not finish under the grader" +
                             (meson_result.empty() ? std::string(")")
                                                   : "; meson says " + meson_result + ")")
                       : "verdict rejected: " + vl.detail;
        return o;
    }
    const auto expected = pass.prep.cases.find(item.name);
    judge_verdict(vl.verdict, item, st.variant,
                  expected == pass.prep.cases.end() ? nullptr : &expected->second, o, logs_seen);
    const SourceMap map = pass.source_map(st.dir);
    for (const auto& run : vl.verdict.runs) {
        for (const auto& log : run.sanitizer_logs) {
            merge_findings(findings,
                           parse_sanitizer_log(read_sanitizer_log(log, settings.test_uid), map),
                           st.variant + "/" + item.name);
        }
    }
    return o;
}

}  // namespace

void collect(const Pass& pass, const RunSettings& settings, GradeResult& result,
             std::vector<Finding>& findings, std::vector<std::string>& failure_logs) {
    for (const auto& item : pass.prep.manifest.items) {
        ItemResult ir;
        ir.item = item;
        ir.graded = item.present && pass.selected(item);
        std::string logs_seen;
        for (const auto& st : pass.prep.states) {
            ir.outcomes.push_back(
                outcome(pass, settings, item, ir.graded, st, findings, logs_seen));
        }
        result.items.push_back(std::move(ir));
        failure_logs.push_back(std::move(logs_seen));
    }
}

}  // namespace kit::grade
