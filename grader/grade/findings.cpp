// Findings: sanitizer reports, clang-tidy warnings, compile errors and flagged source lines,
// attributed to owners.
#include "findings.hpp"

#include <algorithm>
#include <map>
#include <regex>

#include "common/hmac.hpp"
#include "common/sanitizer_log.hpp"
#include "util.hpp"

namespace kit::grade {

namespace {

constexpr std::size_t signature_frames = 3;

std::string short_frame(const Frame& f) {
    std::string fn = f.function;
    if (fn.size() > 80) {
        fn = fn.substr(0, 77) + "...";
    }
    if (f.file.empty()) {
        return fn;
    }
    return fn + " (" + f.file + ":" + std::to_string(f.line) + ")";
}

// A report under construction: a header plus the stacks that follow it.
struct RawReport {
    std::string tool;
    std::string kind;
    std::string message;
    std::string primary_file;  // UBSan's own location line
    int primary_line = 0;
    std::vector<std::vector<Frame>> stacks;
};

Finding finish(const RawReport& r, const SourceMap& map) {
    Finding f;
    f.tool = r.tool;
    f.kind = r.kind;
    f.message = mask_addresses(r.message);
    std::vector<Frame> all;
    if (!r.primary_file.empty()) {
        all.push_back(map.frame("", r.primary_file, r.primary_line));
    }
    for (const auto& s : r.stacks) {
        all.insert(all.end(), s.begin(), s.end());
    }
    const Frame* chosen = nullptr;
    for (Owner want : {Owner::student, Owner::provided}) {
        for (const auto& fr : all) {
            if (fr.owner == want && !fr.file.empty()) {
                chosen = &fr;
                break;
            }
        }
        if (chosen != nullptr) {
            break;
        }
    }
    if (chosen == nullptr) {
        for (const auto& fr : all) {
            if (!fr.file.empty()) {
                chosen = &fr;
                break;
            }
        }
    }
    if (chosen != nullptr) {
        f.file = chosen->file;
        f.line = chosen->line;
        f.function = chosen->function;
        f.owner = chosen->owner;
    }
    // Signature: tool, kind and the top frames of (at most two) stacks, preferring frames in the
    // repo so that interceptors and std:: wrappers shared by every report do not hide the
    // difference.
    std::string sig = r.tool + "|" + r.kind;
    if (!r.primary_file.empty()) {
        sig += "|" + all.front().file + ":" + std::to_string(all.front().line);
    }
    std::size_t used = 0;
    for (const auto& s : r.stacks) {
        if (used++ == 2) {
            break;
        }
        std::vector<const Frame*> pick;
        for (const auto& fr : s) {
            if (fr.owner != Owner::third_party && pick.size() < signature_frames) {
                pick.push_back(&fr);
            }
        }
        if (pick.empty()) {
            for (const auto& fr : s) {
                if (pick.size() < signature_frames) {
                    pick.push_back(&fr);
                }
            }
        }
        sig += "|";
        for (const Frame* fr : pick) {
            sig += fr->function + "@" + fr->file + ":" + std::to_string(fr->line) + ";";
        }
        for (const Frame* fr : pick) {
            if (f.stack.size() < 6) {
                f.stack.push_back(short_frame(*fr));
            }
        }
    }
    f.signature = sha256_hex(sig).substr(0, 16);
    return f;
}

}  // namespace

std::string owner_name(Owner owner) {
    switch (owner) {
        case Owner::student:
            return "student";
        case Owner::provided:
            return "provided";
        case Owner::third_party:
            return "third-party";
    }
    return "third-party";
}

Owner SourceMap::owner_of(const std::string& relative) const {
    if (relative.empty() || relative.front() == '/' || starts_with(relative, "../")) {
        return Owner::third_party;
    }
    if (is_student && is_student(relative)) {
        return Owner::student;
    }
    return Owner::provided;
}

Frame SourceMap::frame(std::string function, std::string_view printed_file, int line) const {
    Frame f;
    f.function = std::move(function);
    f.line = line;
    if (!printed_file.empty()) {
        f.file = repo_relative(printed_file, root, base);
        // Sanitizer runtimes print their own sources relative to a foreign build tree
        // ("../../../../src/...").
        if (starts_with(printed_file, "../../../../src/libsanitizer") ||
            printed_file.find("libsanitizer") != std::string_view::npos) {
            f.file = std::string(printed_file);
            f.owner = Owner::third_party;
            return f;
        }
    }
    f.owner = owner_of(f.file);
    return f;
}

std::vector<Finding> parse_sanitizer_log(std::string_view text, const SourceMap& map) {
    std::vector<Finding> out;
    for (const SanitizerReport& report : parse_sanitizer_text(text).reports) {
        RawReport raw{report.tool,         report.kind,         report.message,
                      report.primary_file, report.primary_line, {}};
        for (const auto& stack : report.stacks) {
            raw.stacks.emplace_back();
            for (const auto& frame : stack) {
                raw.stacks.back().push_back(map.frame(frame.function, frame.file, frame.line));
            }
        }
        out.push_back(finish(raw, map));
    }
    // A log may repeat one report (e.g. the same race on several iterations): merge here too.
    std::vector<Finding> merged;
    merge_findings(merged, out, "");
    return merged;
}

std::vector<Finding> parse_tidy_output(std::string_view text, const SourceMap& map) {
    static const std::regex diag(
        R"(^(.+?):(\d+):(\d+): (warning|error): (.*) \[([A-Za-z0-9_.,-]+)\]$)");
    std::vector<Finding> out;
    std::smatch m;
    for (const std::string& raw : split_lines(text)) {
        std::string line = strip_ansi(raw);
        if (!std::regex_match(line, m, diag)) {
            continue;
        }
        Finding f;
        f.tool = "tidy";
        f.kind = m[6];
        f.message = m[5];
        Frame fr = map.frame("", std::string(m[1]), std::stoi(m[2]));
        f.file = fr.file;
        f.line = fr.line;
        f.owner = fr.owner;
        f.signature = sha256_hex("tidy|" + f.kind + "|" + f.file + ":" + std::to_string(f.line) +
                                 "|" + f.message)
                          .substr(0, 16);
        out.push_back(std::move(f));
    }
    std::vector<Finding> merged;
    merge_findings(merged, out, "");
    return merged;
}

std::vector<Finding> parse_compile_errors(std::string_view text, const SourceMap& map,
                                          std::size_t max_errors) {
    static const std::regex diag(R"(^(.+?):(\d+):(\d+): (fatal error|error): (.*)$)");
    static const std::regex undef(R"(^(.*?):(\d+):? undefined reference to [`'](.*)'$)");
    static const std::regex undef_plain(R"(undefined reference to [`'](.*)'$)");
    std::vector<Finding> errors;
    std::set<std::string> seen;
    std::smatch m;
    for (const std::string& raw : split_lines(text)) {
        std::string line = strip_ansi(raw);
        Finding f;
        f.tool = "compile";
        if (std::regex_match(line, m, diag)) {
            Frame fr = map.frame("", std::string(m[1]), std::stoi(m[2]));
            f.kind = "compile-error";
            f.file = fr.file;
            f.line = fr.line;
            f.owner = fr.owner;
            f.message = m[5];
        } else if (std::regex_search(line, m, undef)) {
            Frame fr = map.frame("", std::string(m[1]), std::stoi(m[2]));
            f.kind = "link-error";
            f.file = fr.file;
            f.line = fr.line;
            f.owner = fr.owner;
            f.message = "undefined reference to '" + std::string(m[3]) +
                        "': it is declared but never defined (is the function written, with the "
                        "same signature?)";
        } else if (std::regex_search(line, m, undef_plain)) {
            f.kind = "link-error";
            f.owner = Owner::provided;
            f.message = "undefined reference to '" + std::string(m[1]) +
                        "': it is declared but never defined (is the function written, with the "
                        "same signature?)";
        } else {
            continue;
        }
        f.signature =
            sha256_hex(f.kind + "|" + f.file + ":" + std::to_string(f.line) + "|" + f.message)
                .substr(0, 16);
        if (seen.insert(f.signature).second) {
            errors.push_back(std::move(f));
        }
    }
    // Student lines first (that is what the student can fix), keeping the compiler's order
    // otherwise.
    std::stable_sort(errors.begin(), errors.end(), [](const Finding& a, const Finding& b) {
        return (a.owner == Owner::student) > (b.owner == Owner::student);
    });
    if (errors.size() > max_errors) {
        errors.resize(max_errors);
    }
    return errors;
}

std::vector<Finding> scan_flags(std::string_view text, const std::string& relative_path,
                                std::string_view baseline) {
    struct Rule {
        std::regex re;
        const char* kind;
        const char* why;
    };
    static const std::vector<Rule> rules = {
        {std::regex(R"(NOLINT)"), "NOLINT", "silences clang-tidy on this line"},
        {std::regex(R"(no_sanitize)"), "no_sanitize", "switches a sanitizer off for this code"},
        {std::regex(
             R"((__attribute__\s*\(\(\s*(constructor|destructor))|(\[\[\s*gnu::(constructor|destructor)))"),
         "constructor-attribute", "runs code before main or after exit, outside the tests"},
        {std::regex(R"(__(asan|lsan|tsan|ubsan|msan)_default_(options|suppressions))"),
         "sanitizer-suppression", "changes sanitizer options or suppressions from student code"},
        {std::regex(R"(#\s*pragma\s+(GCC|clang)\s+diagnostic\s+ignored)"), "diagnostic-pragma",
         "silences compiler warnings"},
    };
    std::multiset<std::string> base_lines;
    for (const auto& l : split_lines(baseline)) {
        base_lines.insert(trim(l));
    }
    std::vector<Finding> out;
    int lineno = 0;
    for (const std::string& line : split_lines(text)) {
        ++lineno;
        std::string t = trim(line);
        for (const auto& rule : rules) {
            if (!std::regex_search(line, rule.re)) {
                continue;
            }
            auto it = base_lines.find(t);
            if (it != base_lines.end()) {
                continue;  // present in the pristine file: provided, not added by the student
            }
            Finding f;
            f.tool = "flag";
            f.kind = rule.kind;
            f.message = std::string(rule.kind) + " in a student file " + rule.why + ": " +
                        (t.size() > 100 ? t.substr(0, 100) + "..." : t);
            f.file = relative_path;
            f.line = lineno;
            f.owner = Owner::student;
            f.signature = sha256_hex(std::string("flag|")
                                         .append(f.kind)
                                         .append("|")
                                         .append(relative_path)
                                         .append("|")
                                         .append(t))
                              .substr(0, 16);
            out.push_back(std::move(f));
        }
    }
    return out;
}

void merge_findings(std::vector<Finding>& into, const std::vector<Finding>& more,
                    const std::string& where) {
    for (const auto& f : more) {
        auto it = std::find_if(into.begin(), into.end(),
                               [&](const Finding& g) { return g.signature == f.signature; });
        if (it == into.end()) {
            into.push_back(f);
            if (!where.empty()) {
                into.back().where.insert(where);
            }
        } else {
            it->count += f.count;
            it->where.insert(f.where.begin(), f.where.end());
            if (!where.empty()) {
                it->where.insert(where);
            }
        }
    }
}

void sort_findings(std::vector<Finding>& findings) {
    auto rank = [](const Finding& f) { return f.owner == Owner::student ? 0 : 1; };
    std::stable_sort(findings.begin(), findings.end(), [&](const Finding& a, const Finding& b) {
        int ra = rank(a);
        int rb = rank(b);
        return std::tie(ra, a.tool, a.file, a.line, a.signature) <
               std::tie(rb, b.tool, b.file, b.line, b.signature);
    });
}

}  // namespace kit::grade
