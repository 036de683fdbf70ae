// kit-run's verdict: its fields, its JSON, its signature.
#include "common/verdict.hpp"

#include <array>
#include <fstream>
#include <sstream>
#include <utility>

#include "common/hmac.hpp"

namespace kit {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<RunStatus, std::string_view>, 9> status_words = {{
    {RunStatus::pass, "pass"},
    {RunStatus::fail, "fail"},
    {RunStatus::timeout, "timeout"},
    {RunStatus::crash, "crash"},
    {RunStatus::sanitizer, "sanitizer"},
    {RunStatus::no_record, "no_record"},
    {RunStatus::bad_record, "bad_record"},
    {RunStatus::limit, "limit"},
    {RunStatus::not_started, "not_started"},
}};

}  // namespace

std::string_view to_string(RunStatus status) {
    for (const auto& [value, word] : status_words) {
        if (value == status) {
            return word;
        }
    }
    return "fail";
}

std::optional<RunStatus> run_status_from(std::string_view word) {
    for (const auto& [value, text] : status_words) {
        if (text == word) {
            return value;
        }
    }
    return std::nullopt;
}

json to_json(const RunVerdict& run) {
    json j = {
        {"index", run.index},
        {"status", std::string(to_string(run.status))},
        {"exit_code", run.exit_code},
        {"signal", run.signal},
        {"seconds", run.seconds},
        {"cases_passed", run.cases_passed},
        {"cases_failed", run.cases_failed},
        {"log", run.log},
        {"sanitizer_logs", run.sanitizer_logs},
        {"hang", nullptr},
        {"reason", run.reason},
        {"notes", run.notes},
    };
    if (run.hang) {
        j["hang"] = {{"kind", run.hang->kind}, {"backtrace", run.hang->backtrace}};
    }
    return j;
}

json to_json(const Verdict& verdict) {
    json runs = json::array();
    for (const auto& run : verdict.runs) {
        runs.push_back(to_json(run));
    }
    return {
        {"item", verdict.item},
        {"lesson", verdict.lesson},
        {"variant", verdict.variant},
        {"repeat", verdict.repeat},
        {"passed_runs", verdict.passed_runs},
        {"timeout", verdict.timeout},
        {"runs", runs},
        {"reproduce", verdict.reproduce},
    };
}

RunVerdict run_verdict_from_json(const json& j) {
    RunVerdict run;
    run.index = j.value("index", 0);
    const auto status = run_status_from(j.value("status", "fail"));
    run.status = status.value_or(RunStatus::fail);
    run.exit_code = j.value("exit_code", -1);
    run.signal = j.value("signal", 0);
    run.seconds = j.value("seconds", 0.0);
    run.cases_passed = j.value("cases_passed", std::vector<std::string>{});
    run.cases_failed = j.value("cases_failed", std::vector<std::string>{});
    run.log = j.value("log", "");
    run.sanitizer_logs = j.value("sanitizer_logs", std::vector<std::string>{});
    if (const auto hang = j.find("hang"); hang != j.end() && hang->is_object()) {
        run.hang = Hang{hang->value("kind", ""), hang->value("backtrace", "")};
    }
    run.reason = j.value("reason", "");
    run.notes = j.value("notes", std::vector<std::string>{});
    return run;
}

Verdict verdict_from_json(const json& j) {
    Verdict v;
    v.item = j.at("item").get<std::string>();
    v.lesson = j.value("lesson", "");
    v.variant = j.value("variant", "");
    v.repeat = j.value("repeat", 1);
    v.passed_runs = j.value("passed_runs", 0);
    v.timeout = j.value("timeout", 0.0);
    v.reproduce = j.value("reproduce", "");
    for (const auto& r : j.at("runs")) {
        v.runs.push_back(run_verdict_from_json(r));
    }
    return v;
}

std::string verdict_hmac(const json& verdict, std::string_view secret) {
    json copy = verdict;
    if (copy.is_object()) {
        copy.erase("hmac");
    }
    return hmac_sha256_hex(secret, copy.dump());
}

void sign_verdict(json& verdict, std::string_view secret) {
    verdict["hmac"] = secret.empty() ? std::string() : verdict_hmac(verdict, secret);
}

bool verify_verdict(const json& verdict, std::string_view secret) {
    if (secret.empty() || !verdict.is_object() || !verdict.contains("hmac") ||
        !verdict["hmac"].is_string()) {
        return false;
    }
    return constant_time_equal(verdict["hmac"].get<std::string>(), verdict_hmac(verdict, secret));
}

VerdictLoad check_verdict_text(const std::string& text, std::string_view secret) {
    VerdictLoad load;
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        load.state = VerdictState::unreadable;
        load.detail = std::string("verdict is not JSON: ") + e.what();
        return load;
    }
    if (!j.is_object() || !j.contains("hmac") || !j["hmac"].is_string()) {
        load.state = VerdictState::forged;
        load.detail = "verdict carries no HMAC";
        return load;
    }
    if (!verify_verdict(j, secret)) {
        load.state = VerdictState::forged;
        load.detail = "verdict HMAC does not match this grading run's secret";
        return load;
    }
    try {
        load.verdict = verdict_from_json(j);
    } catch (const json::exception& e) {
        load.state = VerdictState::unreadable;
        load.detail = std::string("verdict has the wrong shape: ") + e.what();
        return load;
    }
    load.state = VerdictState::verified;
    return load;
}

VerdictLoad load_verdict(const std::filesystem::path& path, std::string_view secret) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        VerdictLoad load;
        load.state = VerdictState::missing;
        load.detail = "no verdict from kit-run (" + path.string() + ")";
        return load;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return check_verdict_text(text.str(), secret);
}

bool verdict_passes(const Verdict& verdict, int required_repeat) {
    if (static_cast<int>(verdict.runs.size()) < required_repeat || verdict.runs.empty()) {
        return false;
    }
    for (const auto& r : verdict.runs) {
        if (r.status != RunStatus::pass) {
            return false;
        }
    }
    return verdict.passed_runs == static_cast<int>(verdict.runs.size());
}

}  // namespace kit
