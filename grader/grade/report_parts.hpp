// Pieces the report writers share (report.cpp: files; report_text.cpp: terminal and annotations).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "result.hpp"

namespace kit::grade::report_parts {

// The first failing (or not built) outcome of an item, or nullptr.
const VariantOutcome* first_failure(const ItemResult& it);
// One table cell: "pass", "FAIL 2/3", "no build", "-".
std::string outcome_cell(const VariantOutcome& o);
std::string item_title(const ItemResult& it);
// The text a student reads for one item: per variant, the state, the reason, the log excerpt,
// kit-run's time limit and notes.
std::string item_output(const ItemResult& it);
nlohmann::json finding_json(const Finding& f);
std::string location(const Finding& f);
std::string tool_label(const std::string& tool);

// ANSI colour when on.
struct Paint {
    bool on;
    std::string operator()(const std::string& code, const std::string& text) const {
        return on ? "\x1b[" + code + "m" + text + "\x1b[0m" : text;
    }
};

std::string pad(const std::string& s, std::size_t w);

}  // namespace kit::grade::report_parts
