// Phase 5, score: all-N-must-pass per item and variant, totals, and the timeout formula.
#include "score.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "collect.hpp"
#include "util.hpp"

namespace kit::grade {

namespace fs = std::filesystem;
using nlohmann::json;

double item_score(const ItemResult& item) {
    if (!item.graded) {
        return 0;
    }
    bool any = false;
    for (const auto& o : item.outcomes) {
        if (o.state == OutcomeState::fail || o.state == OutcomeState::not_built ||
            o.state == OutcomeState::not_run) {
            return 0;
        }
        any = any || o.state == OutcomeState::pass;
    }
    return any ? item.item.points : 0;
}

void score(GradeResult& result, const Manifest& manifest,
           const std::vector<std::string>& failure_logs) {
    for (std::size_t i = 0; i < result.items.size(); ++i) {
        ItemResult& ir = result.items[i];
        ir.score = item_score(ir);
        ir.passed =
            ir.graded && ir.score >= ir.item.points &&
            std::any_of(ir.outcomes.begin(), ir.outcomes.end(),
                        [](const VariantOutcome& o) { return o.state == OutcomeState::pass; });
        if (ir.graded && !ir.passed) {
            ir.student_files =
                files_for_item(manifest, ir.item, i < failure_logs.size() ? failure_logs[i] : "");
        }
        if (ir.graded) {
            result.max_score += ir.item.points;
            result.score += ir.score;
        }
    }
}

double derived_timeout(const TimeoutPolicy& policy, double ceiling, double measured) {
    return std::min(ceiling, std::max(policy.floor_seconds, policy.margin * measured));
}

std::string derive_timeouts(const std::string& calibration_json, const std::vector<Item>& items,
                            const std::vector<std::string>& variants) {
    json cal = json::object();
    if (!calibration_json.empty()) {
        try {
            cal = json::parse(calibration_json);
        } catch (const json::exception&) {
            cal = json::object();
        }
    }
    TimeoutPolicy policy;
    policy.margin = cal.value("margin", policy.margin);
    policy.floor_seconds = cal.value("floor_seconds", policy.floor_seconds);
    json out = json::object();
    for (const auto& it : items) {
        json per = json::object();
        for (const auto& v : variants) {
            double t = it.timeout;
            if (cal.contains("items") && cal["items"].contains(it.name) &&
                cal["items"][it.name].contains(v)) {
                double measured = cal["items"][it.name][v].value("measured", -1.0);
                if (measured >= 0) {
                    t = derived_timeout(policy, it.timeout, measured);
                }
            }
            per[v] = std::ceil(t * 10) / 10;
        }
        out[it.name] = per;
    }
    return out.dump(2) + "\n";
}

std::string load_calibration(const fs::path& tree, const std::string& lesson) {
    bool ok = false;
    std::string text = read_file_or_empty(tree / "lessons" / lesson / "calibration.json", &ok);
    return ok ? text : std::string();
}

}  // namespace kit::grade
