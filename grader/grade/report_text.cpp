// Phase 6, report: the terminal view and GitHub annotations.
#include <algorithm>
#include <set>
#include <sstream>

#include "report.hpp"
#include "report_parts.hpp"
#include "util.hpp"

namespace kit::grade {

using namespace report_parts;  // NOLINT(google-build-using-namespace): the shared report helpers

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
                    code = o.state == OutcomeState::pass ? "32"
                           : (o.state == OutcomeState::fail || o.state == OutcomeState::not_built)
                               ? "31"
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
        for (const auto& note : f->notes) {
            out << "    note: " << note << "\n";
        }
        if (f->timeout > 0 && f->reason.find("timed out") != std::string::npos) {
            out << "    time limit per run: " << format_seconds(f->timeout) << "\n";
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
