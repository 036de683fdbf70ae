// Pieces the report writers share.
#include "report_parts.hpp"

#include <sstream>

#include "util.hpp"

namespace kit::grade::report_parts {

using nlohmann::json;

const VariantOutcome* first_failure(const ItemResult& it) {
    for (const auto& o : it.outcomes) {
        if (o.state == OutcomeState::fail || o.state == OutcomeState::not_built) {
            return &o;
        }
    }
    return nullptr;
}

std::string outcome_cell(const VariantOutcome& o) {
    if (o.state == OutcomeState::pass) {
        return o.repeat > 1
                   ? "pass " + std::to_string(o.passed_runs) + "/" + std::to_string(o.repeat)
                   : "pass";
    }
    if (o.state == OutcomeState::fail) {
        return o.repeat > 1
                   ? "FAIL " + std::to_string(o.passed_runs) + "/" + std::to_string(o.repeat)
                   : "FAIL";
    }
    if (o.state == OutcomeState::not_built) {
        return "no build";
    }
    if (o.state == OutcomeState::not_required) {
        return "-";
    }
    return "not run";
}

std::string item_title(const ItemResult& it) {
    return (it.item.task.empty() ? "" : it.item.task + " ") + it.item.name;
}

// The text a student reads for one item: per variant, the state, the reason and the log excerpt.
std::string item_output(const ItemResult& it) {
    std::ostringstream out;
    if (!it.graded) {
        out << "Not graded here: "
            << (it.item.present ? "left out by --only." : "the hidden tests are not in this tree.")
            << "\n";
        return out.str();
    }
    for (const auto& o : it.outcomes) {
        if (o.state == OutcomeState::not_required || o.state == OutcomeState::not_run) {
            continue;
        }
        out << "[" << o.variant << "] " << outcome_cell(o);
        if (!o.reason.empty() && o.state != OutcomeState::pass) {
            out << ": " << o.reason;
        }
        out << "\n";
        if (o.state == OutcomeState::fail) {
            if (!o.excerpt.empty()) {
                out << o.excerpt;
                if (o.excerpt.back() != '\n') {
                    out << "\n";
                }
            }
            if (o.timeout > 0) {
                out << "time limit per run: " << format_seconds(o.timeout) << "\n";
            }
            if (!o.reproduce.empty()) {
                out << "reproduce: " << o.reproduce << "\n";
            }
        }
        for (const auto& note : o.notes) {
            out << "note: " << note << "\n";
        }
    }
    return out.str();
}

json finding_json(const Finding& f) {
    json j = {{"tool", f.tool},   {"kind", f.kind},          {"message", f.message},
              {"file", f.file},   {"line", f.line},          {"owner", owner_name(f.owner)},
              {"count", f.count}, {"signature", f.signature}};
    if (!f.function.empty()) {
        j["function"] = f.function;
    }
    if (!f.stack.empty()) {
        j["stack"] = f.stack;
    }
    if (!f.where.empty()) {
        j["where"] = std::vector<std::string>(f.where.begin(), f.where.end());
    }
    return j;
}

std::string location(const Finding& f) {
    if (f.file.empty()) {
        return "(no source line)";
    }
    return f.file + (f.line > 0 ? ":" + std::to_string(f.line) : "");
}

std::string tool_label(const std::string& tool) {
    if (tool == "asan")
        return "AddressSanitizer";
    if (tool == "lsan")
        return "LeakSanitizer";
    if (tool == "ubsan")
        return "UndefinedBehaviorSanitizer";
    if (tool == "tsan")
        return "ThreadSanitizer";
    if (tool == "tidy")
        return "clang-tidy";
    if (tool == "flag")
        return "flagged";
    if (tool == "compile")
        return "compiler";
    return tool;
}

std::string pad(const std::string& s, std::size_t w) {
    return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
}

}  // namespace kit::grade::report_parts
