// Phase 6, report: the files (Gradescope results.json, JUnit XML, the Markdown summary);
// report_text.cpp writes the terminal view and GitHub annotations.
#include "report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "report_parts.hpp"
#include "util.hpp"

namespace kit::grade {

std::string to_string(OutcomeState state) {
    switch (state) {
        case OutcomeState::pass:
            return "pass";
        case OutcomeState::fail:
            return "fail";
        case OutcomeState::not_built:
            return "not-built";
        case OutcomeState::not_required:
            return "not-required";
        case OutcomeState::not_run:
            break;
    }
    return "not-run";
}

using nlohmann::json;

using namespace report_parts;  // NOLINT(google-build-using-namespace): this file's own helpers

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
            if (o.state != OutcomeState::not_required) {
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
              << (f != nullptr ? to_string(f->state) : "fail") << "\">"
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
                    cell = o.state == OutcomeState::pass ? ":white_check_mark: " + outcome_cell(o)
                           : (o.state == OutcomeState::fail || o.state == OutcomeState::not_built)
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

}  // namespace kit::grade
