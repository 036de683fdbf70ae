// Findings: sanitizer reports, clang-tidy warnings, compile errors and flagged source lines,
// attributed to owners.
#include "findings.hpp"

#include <algorithm>
#include <map>
#include <regex>

#include "util.hpp"

namespace kit::grade {

namespace {

constexpr std::size_t signature_frames = 3;

// Splits "file:line[:col]" into its parts; returns false when there is no line number.
bool split_location(std::string_view loc, std::string& file, int& line) {
    // Strip up to two trailing numeric fields.
    std::vector<std::string_view> nums;
    std::string_view rest = loc;
    for (int i = 0; i < 2; ++i) {
        std::size_t colon = rest.rfind(':');
        if (colon == std::string_view::npos) {
            break;
        }
        std::string_view tail = rest.substr(colon + 1);
        if (tail.empty() ||
            !std::all_of(tail.begin(), tail.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            break;
        }
        nums.insert(nums.begin(), tail);
        rest = rest.substr(0, colon);
    }
    if (nums.empty()) {
        return false;
    }
    file = std::string(rest);
    line = std::stoi(std::string(nums.front()));
    return true;
}

// Parses one "#N ..." frame line of any sanitizer; returns false when the line is not a frame.
bool parse_frame_line(const std::string& raw, const SourceMap& map, Frame& out) {
    std::string line = trim(raw);
    if (line.size() < 2 || line[0] != '#' ||
        std::isdigit(static_cast<unsigned char>(line[1])) == 0) {
        return false;
    }
    std::size_t sp = line.find(' ');
    if (sp == std::string::npos) {
        return false;
    }
    std::string rest = trim(line.substr(sp + 1));
    // ASan/UBSan/LSan: "0xADDR in FUNCTION LOCATION"; TSan: "FUNCTION LOCATION (module+0xoff)".
    if (starts_with(rest, "0x")) {
        std::size_t in = rest.find(" in ");
        if (in == std::string::npos) {
            out = map.frame("", "", 0);
            return true;
        }
        rest = rest.substr(in + 4);
    } else if (!rest.empty() && rest.back() == ')') {
        std::size_t open = rest.rfind(" (");
        if (open != std::string::npos) {
            rest = rest.substr(0, open);
        }
    }
    std::size_t last = rest.rfind(' ');
    std::string function = last == std::string::npos ? rest : rest.substr(0, last);
    std::string loc = last == std::string::npos ? "" : rest.substr(last + 1);
    std::string file;
    int lineno = 0;
    if (loc.empty() || loc.front() == '(' || loc == "<null>" ||
        !split_location(loc, file, lineno)) {
        out = map.frame(function, "", 0);
        return true;
    }
    out = map.frame(function, file, lineno);
    return true;
}

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
    std::vector<std::string> detail_lines;  // e.g. "Write of size 4 ... by thread T1"
};

std::string kind_slug(std::string kind) {
    kind = trim(kind);
    std::replace(kind.begin(), kind.end(), ' ', '-');
    return kind;
}

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
    static const std::regex asan_head(
        R"(==\d+==ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer): (.*))");
    static const std::regex leak_head(
        R"((Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\) allocated from:)");
    static const std::regex tsan_head(R"(WARNING: ThreadSanitizer: (.*?)( \(pid=\d+\))?\s*$)");
    static const std::regex ubsan_head(R"(^(.*?):(\d+):(\d+): runtime error: (.*)$)");

    std::vector<Finding> out;
    std::vector<RawReport> reports;
    RawReport* cur = nullptr;
    bool in_stack = false;
    bool in_leaks = false;
    std::smatch m;
    for (const std::string& line : split_lines(text)) {
        if (std::regex_search(line, m, asan_head)) {
            std::string san = m[1];
            std::string rest = m[2];
            if (san == "LeakSanitizer" || starts_with(rest, "detected memory leaks")) {
                in_leaks = true;
                cur = nullptr;
                continue;
            }
            in_leaks = false;
            reports.emplace_back();
            cur = &reports.back();
            cur->tool = san == "AddressSanitizer" ? "asan" : "ubsan";
            std::string kind = rest.substr(0, rest.find(' '));
            cur->kind = kind;
            cur->message = rest;
            in_stack = false;
            continue;
        }
        if (in_leaks && std::regex_search(line, m, leak_head)) {
            reports.emplace_back();
            cur = &reports.back();
            cur->tool = "lsan";
            cur->kind = m[1] == "Direct" ? "memory-leak" : "indirect-memory-leak";
            cur->message = std::string(m[1]) + " leak of " + std::string(m[2]) + " byte(s) in " +
                           std::string(m[3]) + " object(s)";
            in_stack = false;
            continue;
        }
        if (std::regex_search(line, m, tsan_head)) {
            in_leaks = false;
            reports.emplace_back();
            cur = &reports.back();
            cur->tool = "tsan";
            std::string kind = m[1];
            std::string slug = kind.substr(0, kind.find(" ("));
            cur->kind = kind_slug(slug);
            cur->message = kind;
            in_stack = false;
            continue;
        }
        if (std::regex_match(line, m, ubsan_head)) {
            in_leaks = false;
            reports.emplace_back();
            cur = &reports.back();
            cur->tool = "ubsan";
            std::string msg = m[4];
            std::size_t colon = msg.find(':');
            cur->kind =
                kind_slug(mask_addresses(colon == std::string::npos ? msg : msg.substr(0, colon)));
            cur->message = msg;
            cur->primary_file = m[1];
            cur->primary_line = std::stoi(m[2]);
            in_stack = false;
            continue;
        }
        if (cur == nullptr) {
            continue;
        }
        Frame fr;
        if (parse_frame_line(line, map, fr)) {
            if (!in_stack) {
                cur->stacks.emplace_back();
                in_stack = true;
            }
            cur->stacks.back().push_back(std::move(fr));
            continue;
        }
        in_stack = false;
        std::string t = trim(line);
        if (starts_with(t, "SUMMARY:") || starts_with(t, "==================")) {
            if (starts_with(t, "==================")) {
                cur = nullptr;
            }
            continue;
        }
        // Access lines give the message its detail (first one only, for TSan and ASan).
        if (cur->detail_lines.empty() && !t.empty() &&
            (t.find(" of size ") != std::string::npos ||
             starts_with(t, "Cycle in lock order graph"))) {
            cur->detail_lines.push_back(t);
            std::string detail = t;
            if (std::size_t at = detail.find(" at 0x"); at != std::string::npos) {
                std::size_t by = detail.find(" by ", at);
                std::size_t thr = detail.find(" thread ", at);
                std::size_t cut = std::min(by, thr);
                detail =
                    detail.substr(0, at) + (cut == std::string::npos ? "" : detail.substr(cut));
            }
            if (!detail.empty() && detail.back() == ':') {
                detail.pop_back();
            }
            if (cur->tool == "tsan" && cur->kind == "lock-order-inversion") {
                cur->message =
                    "lock-order inversion: two mutexes are taken in opposite orders (potential "
                    "deadlock)";
            } else {
                cur->message += " (" + detail + ")";
            }
        }
        if (cur->tool == "tsan" && starts_with(t, "Location is ")) {
            std::string loc = t.substr(12);
            if (std::size_t of = loc.find(" of size"); of != std::string::npos) {
                loc = loc.substr(0, of);
            }
            cur->message += " on " + loc;
        }
    }
    out.reserve(reports.size());
    for (const auto& r : reports) {
        out.push_back(finish(r, map));
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
