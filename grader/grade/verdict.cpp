// kit-run's verdict files (one per item and variant) and their HMAC check against the per-run
// secret.
#include "verdict.hpp"

#include <nlohmann/json.hpp>

#include "util.hpp"

namespace kit::grade {

using nlohmann::json;

VerdictLoad check_verdict_text(const std::string& text, const std::string& secret) {
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
    std::string claimed = j["hmac"].get<std::string>();
    j.erase("hmac");
    std::string expected = hmac_sha256_hex(secret, j.dump());
    if (secret.empty() || !equal_constant_time(claimed, expected)) {
        load.state = VerdictState::forged;
        load.detail = "verdict HMAC does not match this grading run's secret";
        return load;
    }
    try {
        Verdict& v = load.verdict;
        v.item = j.at("item").get<std::string>();
        v.lesson = j.value("lesson", "");
        v.variant = j.value("variant", "");
        v.repeat = j.value("repeat", 1);
        v.passed_runs = j.value("passed_runs", 0);
        v.reproduce = j.value("reproduce", "");
        for (const auto& r : j.at("runs")) {
            RunRecord run;
            run.index = r.value("index", 0);
            run.status = r.value("status", "fail");
            run.exit_code = r.value("exit_code", 0);
            run.signal = r.value("signal", 0);
            run.seconds = r.value("seconds", 0.0);
            run.cases_passed = r.value("cases_passed", std::vector<std::string>{});
            run.cases_failed = r.value("cases_failed", std::vector<std::string>{});
            run.log = r.value("log", "");
            run.sanitizer_logs = r.value("sanitizer_logs", std::vector<std::string>{});
            if (r.contains("hang") && r["hang"].is_object()) {
                run.hang_kind = r["hang"].value("kind", "");
                run.hang_backtrace = r["hang"].value("backtrace", "");
            }
            run.reason = r.value("reason", "");
            v.runs.push_back(std::move(run));
        }
    } catch (const json::exception& e) {
        load.state = VerdictState::unreadable;
        load.detail = std::string("verdict has the wrong shape: ") + e.what();
        return load;
    }
    load.state = VerdictState::verified;
    return load;
}

VerdictLoad load_verdict(const std::filesystem::path& path, const std::string& secret) {
    bool ok = false;
    std::string text = read_file_or_empty(path, &ok);
    if (!ok) {
        VerdictLoad load;
        load.state = VerdictState::missing;
        load.detail = "no verdict from kit-run (" + path.string() + ")";
        return load;
    }
    return check_verdict_text(text, secret);
}

std::string sign_verdict_text(const std::string& json_without_hmac, const std::string& secret) {
    json j = json::parse(json_without_hmac);
    j.erase("hmac");
    j["hmac"] = hmac_sha256_hex(secret, j.dump());
    return j.dump();
}

bool verdict_passes(const Verdict& verdict, int required_repeat) {
    if (static_cast<int>(verdict.runs.size()) < required_repeat || verdict.runs.empty()) {
        return false;
    }
    for (const auto& r : verdict.runs) {
        if (r.status != "pass") {
            return false;
        }
    }
    return verdict.passed_runs == static_cast<int>(verdict.runs.size());
}

}  // namespace kit::grade
