// Report writers: Gradescope results.json, JUnit XML, Markdown summary, GitHub annotations and the
// terminal view.
#include "report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "util.hpp"

namespace kit::grade {

using nlohmann::json;

namespace {

const VariantOutcome* first_failure(const ItemResult& it) {
    for (const auto& o : it.outcomes) {
        if (o.state == "fail" || o.state == "not-built") {
            return &o;
        }
    }
    return nullptr;
}

std::string outcome_cell(const VariantOutcome& o) {
    if (o.state == "pass") {
        return o.repeat > 1
                   ? "pass " + std::to_string(o.passed_runs) + "/" + std::to_string(o.repeat)
                   : "pass";
    }
    if (o.state == "fail") {
        return o.repeat > 1
                   ? "FAIL " + std::to_string(o.passed_runs) + "/" + std::to_string(o.repeat)
                   : "FAIL";
    }
    if (o.state == "not-built") {
        return "no build";
    }
    if (o.state == "not-required") {
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
        if (o.state == "not-required" || o.state == "not-run") {
            continue;
        }
        out << "[" << o.variant << "] " << outcome_cell(o);
        if (!o.reason.empty() && o.state != "pass") {
            out << ": " << o.reason;
        }
        out << "\n";
        if (o.state == "fail") {
            if (!o.excerpt.empty()) {
                out << o.excerpt;
                if (o.excerpt.back() != '\n') {
                    out << "\n";
                }
            }
            if (!o.reproduce.empty()) {
                out << "reproduce: " << o.reproduce << "\n";
            }
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

struct Paint {
    bool on;
    std::string operator()(const std::string& code, const std::string& text) const {
        return on ? "\x1b[" + code + "m" + text + "\x1b[0m" : text;
    }
};

std::string pad(const std::string& s, std::size_t w) {
    return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
}

}  // namespace

std::string render_results_json(const GradeResult& r) {
    json tests = json::array();
    for (const auto& it : r.items) {
        json t = {{"name", item_title(it)},
                  {"number", it.item.task},
                  {"score", it.graded ? it.score : 0.0},
                  {"max_score", it.graded ? it.item.points : 0.0},
                  {"status", it.passed ? "passed" : "failed"},
                  {"output", cap_text(item_output(it), 8000)},
                  {"visibility", it.item.visibility == "hidden" ? "after_due_date" : "visible"}};
        std::vector<std::string> tags = {"task-" + it.item.task, it.item.visibility};
        for (const auto& o : it.outcomes) {
            if (o.state != "not-required") {
                tags.push_back(o.variant);
            }
        }
        if (!it.graded) {
            tags.emplace_back("not-graded");
        }
        t["tags"] = tags;
        tests.push_back(std::move(t));
    }
    json student = json::array();
    json instructor = json::array();
    for (const auto& f : r.findings) {
        (f.owner == Owner::student ? student : instructor).push_back(finding_json(f));
    }
    json compile = json::array();
    for (const auto& f : r.compile_errors) {
        compile.push_back(finding_json(f));
    }
    std::ostringstream summary;
    summary << "Score: " << format_points(r.score) << "/" << format_points(r.max_score) << "\n";
    if (!r.start_here.empty()) {
        summary << r.start_here << "\n";
    }
    json out = {
        {"score", r.score},
        {"max_score", r.max_score},
        {"execution_time", std::lround(r.timings.total)},
        {"output", summary.str()},
        {"visibility", "visible"},
        {"stdout_visibility", "hidden"},
        {"tests", tests},
        {"extra_data",
         {{"lesson", r.lesson},
          {"impl", r.impl},
          {"bug", r.bug},
          {"variants", r.variants},
          {"built", r.built},
          {"compile_errors", compile},
          {"findings", {{"student", student}, {"instructor", instructor}}},
          {"tidy", {{"ran", r.tidy_ran}, {"policy", r.tidy_policy}}},
          {"notes", r.notes},
          {"start_here", r.start_here},
          {"timings",
           {{"configure", r.timings.configure},
            {"build", r.timings.build},
            {"test", r.timings.test},
            {"tidy", r.timings.tidy},
            {"total", r.timings.total}}}}},
    };
    return out.dump(2) + "\n";
}

std::string render_junit(const GradeResult& r) {
    int failures = 0;
    int skipped = 0;
    for (const auto& it : r.items) {
        if (!it.graded) {
            ++skipped;
        } else if (!it.passed) {
            ++failures;
        }
    }
    std::ostringstream x;
    x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    x << "<testsuites name=\"" << xml_escape(r.lesson) << "\" tests=\"" << r.items.size()
      << "\" failures=\"" << failures << "\" skipped=\"" << skipped << "\">\n";
    x << "  <testsuite name=\"" << xml_escape(r.lesson) << "\" tests=\"" << r.items.size()
      << "\" failures=\"" << failures << "\" errors=\"0\" skipped=\"" << skipped << "\">\n";
    x << "    <properties>\n";
    x << "      <property name=\"impl\" value=\"" << xml_escape(r.impl) << "\"/>\n";
    x << "      <property name=\"score\" value=\"" << format_points(r.score) << "/"
      << format_points(r.max_score) << "\"/>\n";
    x << "    </properties>\n";
    for (const auto& it : r.items) {
        x << "    <testcase classname=\"" << xml_escape(r.lesson + ".task-" + it.item.task)
          << "\" name=\"" << xml_escape(it.item.name) << "\">\n";
        if (!it.graded) {
            x << "      <skipped message=\"" << xml_escape(item_output(it)) << "\"/>\n";
        } else if (!it.passed) {
            const VariantOutcome* f = first_failure(it);
            std::string msg = f != nullptr ? "[" + f->variant + "] " + f->reason : "failed";
            x << "      <failure message=\"" << xml_escape(msg) << "\" type=\""
              << (f != nullptr ? f->state : "fail") << "\">"
              << xml_escape(cap_text(item_output(it), 16000)) << "</failure>\n";
        }
        x << "      <system-out>" << xml_escape(cap_text(item_output(it), 16000))
          << "</system-out>\n";
        x << "    </testcase>\n";
    }
    x << "  </testsuite>\n</testsuites>\n";
    return x.str();
}

std::string render_markdown(const GradeResult& r) {
    std::ostringstream md;
    bool full = r.max_score > 0 && r.score >= r.max_score;
    md << "## " << r.lesson << ": " << format_points(r.score) << " / " << format_points(r.max_score)
       << (full ? " :white_check_mark:" : "") << "\n\n";
    md << "Implementation `" << r.impl << "`" << (r.bug.empty() ? "" : ", bug `" + r.bug + "`")
       << "; variants "
       << "`";
    for (std::size_t i = 0; i < r.variants.size(); ++i) {
        md << (i > 0 ? "," : "") << r.variants[i];
    }
    md << "`.\n\n";
    if (!r.start_here.empty()) {
        md << "**" << r.start_here << "**\n\n";
    }
    md << "| task | item | points |";
    for (const auto& v : r.variants) {
        md << " " << v << " |";
    }
    md << "\n|---|---|---:|";
    for (std::size_t i = 0; i < r.variants.size(); ++i) {
        md << ":---:|";
    }
    md << "\n";
    for (const auto& it : r.items) {
        md << "| " << it.item.task << " | `" << it.item.name << "`"
           << (it.item.visibility == "hidden" ? " (hidden)" : "") << " | "
           << (it.graded ? format_points(it.score) + "/" + format_points(it.item.points)
                         : "not graded")
           << " |";
        for (const auto& v : r.variants) {
            std::string cell = "-";
            for (const auto& o : it.outcomes) {
                if (o.variant == v) {
                    cell = o.state == "pass" ? ":white_check_mark: " + outcome_cell(o)
                           : (o.state == "fail" || o.state == "not-built")
                               ? ":x: " + outcome_cell(o)
                               : outcome_cell(o);
                }
            }
            md << " " << cell << " |";
        }
        md << "\n";
    }
    md << "\n";
    if (!r.compile_errors.empty()) {
        md << "### Compile errors\n\n";
        for (const auto& f : r.compile_errors) {
            md << "- `" << location(f) << "`: " << f.message << "\n";
        }
        md << "\n";
    }
    bool any_failure = false;
    for (const auto& it : r.items) {
        if (it.graded && !it.passed) {
            if (!any_failure) {
                md << "### Failures\n\n";
                any_failure = true;
            }
            md << "<details><summary>" << item_title(it) << "</summary>\n\n```\n"
               << cap_text(item_output(it), 4000) << "```\n</details>\n\n";
        }
    }
    std::vector<const Finding*> student;
    std::vector<const Finding*> instructor;
    for (const auto& f : r.findings) {
        (f.owner == Owner::student ? student : instructor).push_back(&f);
    }
    if (!student.empty()) {
        md << "### Findings in your code\n\n| tool | where | what | seen |\n|---|---|---|---|\n";
        for (const Finding* f : student) {
            std::string msg = f->message;
            std::replace(msg.begin(), msg.end(), '|', '/');
            md << "| " << tool_label(f->tool) << " | `" << location(*f) << "` | " << msg << " | "
               << f->count << "x |\n";
        }
        md << "\n" << r.tidy_policy << "\n\n";
    }
    if (!instructor.empty()) {
        md << "<details><summary>Instructor section: " << instructor.size()
           << " finding(s) only in provided or third-party code (not charged)</summary>\n\n";
        for (const Finding* f : instructor) {
            md << "- " << tool_label(f->tool) << " `" << location(*f) << "`: " << f->message
               << "\n";
        }
        md << "\n</details>\n\n";
    }
    for (const auto& n : r.notes) {
        md << "> " << n << "\n";
    }
    md << "\nScore: " << format_points(r.score) << "/" << format_points(r.max_score) << "\n";
    return md.str();
}

std::string github_escape(const std::string& text, bool property) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '%':
                out += "%25";
                break;
            case '\r':
                out += "%0D";
                break;
            case '\n':
                out += "%0A";
                break;
            case ':':
                out += property ? "%3A" : ":";
                break;
            case ',':
                out += property ? "%2C" : ",";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string render_annotations(const GradeResult& r, std::size_t max_annotations) {
    struct Note {
        int rank;
        std::string level;
        const Finding* f;
    };
    std::vector<Note> notes;
    auto add = [&](const Finding& f, const std::string& level) {
        int rank = f.owner == Owner::student ? 0 : (f.file.empty() ? 2 : 1);
        notes.push_back({rank, level, &f});
    };
    for (const auto& f : r.compile_errors) {
        add(f, "error");
    }
    for (const auto& f : r.findings) {
        add(f, (f.tool == "tidy" || f.tool == "flag") ? "warning" : "error");
    }
    std::stable_sort(notes.begin(), notes.end(),
                     [](const Note& a, const Note& b) { return a.rank < b.rank; });
    std::ostringstream out;
    std::set<std::string> seen;
    std::size_t emitted = 0;
    for (const auto& n : notes) {
        if (emitted == max_annotations) {
            break;
        }
        if (!seen.insert(n.f->signature).second) {
            continue;
        }
        std::string title = tool_label(n.f->tool) + ": " + n.f->kind;
        std::string msg = n.f->message;
        if (n.f->count > 1 && n.f->tool != "compile") {
            msg += " (seen " + std::to_string(n.f->count) + " times)";
        }
        out << "::" << n.level;
        if (!n.f->file.empty() && n.f->file.front() != '/') {
            out << " file=" << github_escape(n.f->file, true);
            if (n.f->line > 0) {
                out << ",line=" << n.f->line;
            }
            out << ",title=" << github_escape(title, true);
        } else {
            out << " title=" << github_escape(title, true);
        }
        out << "::" << github_escape(msg, false) << "\n";
        ++emitted;
    }
    std::size_t total = 0;
    std::set<std::string> all;
    for (const auto& n : notes) {
        all.insert(n.f->signature);
    }
    total = all.size();
    if (total > emitted) {
        out << "::notice title=More findings::" << (total - emitted)
            << " more finding(s) are listed in results.json and the step summary\n";
    }
    return out.str();
}

std::string render_text(const GradeResult& r, bool colour) {
    Paint p{colour};
    std::ostringstream out;
    std::size_t name_w = 4;
    for (const auto& it : r.items) {
        name_w = std::max(name_w, item_title(it).size() + (it.item.visibility == "hidden" ? 9 : 0));
    }
    out << "\n" << p("1", pad("item", name_w + 2) + pad("points", 10));
    for (const auto& v : r.variants) {
        out << p("1", pad(v, 12));
    }
    out << "\n";
    for (const auto& it : r.items) {
        std::string title = item_title(it) + (it.item.visibility == "hidden" ? " (hidden)" : "");
        out << pad(title, name_w + 2);
        std::string pts =
            it.graded ? format_points(it.score) + "/" + format_points(it.item.points) : "n/g";
        out << (it.graded ? (it.passed ? p("32", pad(pts, 10)) : p("31", pad(pts, 10)))
                          : pad(pts, 10));
        for (const auto& v : r.variants) {
            std::string cell = "-";
            std::string code = "2";
            for (const auto& o : it.outcomes) {
                if (o.variant == v) {
                    cell = outcome_cell(o);
                    code = o.state == "pass"                               ? "32"
                           : (o.state == "fail" || o.state == "not-built") ? "31"
                                                                           : "2";
                }
            }
            out << p(code, pad(cell, 12));
        }
        out << "\n";
    }
    // Failures: the first reason per item, so the student sees why without opening files.
    bool header = false;
    for (const auto& it : r.items) {
        const VariantOutcome* f = it.graded ? first_failure(it) : nullptr;
        if (f == nullptr) {
            continue;
        }
        if (!header) {
            out << "\n" << p("1", "Why items failed") << "\n";
            header = true;
        }
        out << "  " << p("31", it.item.name) << " [" << f->variant << "]: " << f->reason << "\n";
        if (!f->excerpt.empty()) {
            // A few lines here; results.json and summary.md carry the whole excerpt.
            auto lines = split_lines(f->excerpt);
            constexpr std::size_t shown = 8;
            for (std::size_t i = 0; i < lines.size() && i < shown; ++i) {
                out << "      "
                    << (lines[i].size() > 160 ? lines[i].substr(0, 160) + "..." : lines[i]) << "\n";
            }
            if (lines.size() > shown) {
                out << "      [" << (lines.size() - shown) << " more lines in results.json]\n";
            }
        }
        if (!f->reproduce.empty()) {
            out << "    reproduce: " << f->reproduce << "\n";
        }
    }
    if (!r.compile_errors.empty()) {
        out << "\n" << p("1;31", "Compile errors (first ones)") << "\n";
        for (const auto& f : r.compile_errors) {
            out << "  " << location(f) << ": " << f.message << "\n";
        }
    }
    std::vector<const Finding*> student;
    std::vector<const Finding*> instructor;
    for (const auto& f : r.findings) {
        (f.owner == Owner::student ? student : instructor).push_back(&f);
    }
    if (!student.empty()) {
        out << "\n" << p("1", "Findings in your code") << "\n";
        for (const Finding* f : student) {
            out << "  " << p("33", tool_label(f->tool)) << " " << location(*f) << ": "
                << f->message;
            if (f->count > 1) {
                out << " (x" << f->count << ")";
            }
            out << "\n";
        }
        out << "  " << r.tidy_policy << "\n";
    }
    if (!instructor.empty()) {
        out << "\n"
            << p("2", "Instructor section (provided or third-party code, not charged): " +
                          std::to_string(instructor.size()) + " finding(s), see results.json")
            << "\n";
    }
    for (const auto& n : r.notes) {
        out << p("2", "note: " + n) << "\n";
    }
    if (!r.start_here.empty()) {
        out << "\n" << p("1;36", r.start_here) << "\n";
    }
    double overhead = r.timings.total - r.timings.configure - r.timings.build - r.timings.test;
    out << "\n"
        << p("2", "time: " + format_seconds(r.timings.total) + " (configure " +
                      format_seconds(r.timings.configure) + ", build " +
                      format_seconds(r.timings.build) + ", tests " +
                      format_seconds(r.timings.test) + ", tidy " + format_seconds(r.timings.tidy) +
                      " alongside, grader " + format_seconds(std::max(0.0, overhead)) + ")")
        << "\n";
    bool full = r.max_score > 0 && r.score >= r.max_score;
    out << "\n"
        << p(full ? "1;32" : "1;31",
             "Score: " + format_points(r.score) + "/" + format_points(r.max_score))
        << "\n";
    return out.str();
}

}  // namespace kit::grade
