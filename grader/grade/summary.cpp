// Phase 6: notes, "start here" and the command that grades again.
#include "summary.hpp"

#include <regex>

#include "util.hpp"

namespace kit::grade {

namespace {

// reason.
std::string first_message(const std::string& excerpt, const std::string& reason) {
    static const std::regex thrown(R"re(C\+\+ exception with description "(.*)" thrown in)re");
    std::smatch m;
    for (const auto& l : split_lines(excerpt)) {
        if (std::regex_search(l, m, thrown)) {
            return m[1];
        }
    }
    for (const auto& l : split_lines(excerpt)) {
        if (l.find("hint:") != std::string::npos) {
            return trim(l);
        }
    }
    return reason;
}

}  // namespace

void summarize(const Options& opt, GradeResult& result) {
    std::size_t absent = 0;
    for (const auto& it : result.items) {
        absent += it.item.present ? 0 : 1;
    }
    if (absent > 0) {
        result.notes.push_back(
            std::to_string(absent) +
            " hidden item(s) are not in this tree and were not graded; the grade of record "
            "includes them");
    }
    if (!opt.only.empty()) {
        result.notes.emplace_back("only a subset of items was graded (--only)");
    }
    if (!opt.pristine.empty()) {
        result.notes.push_back("graded with --pristine " + opt.pristine.string() +
                               ": only student-owned files were taken from " + opt.root.string());
    }
    for (const auto& f : result.compile_errors) {
        if (f.owner == Owner::student) {
            result.start_here = "Start here: fix the compile error at " + f.file + ":" +
                                std::to_string(f.line) + " (" + f.message + ")";
            break;
        }
    }
    if (result.start_here.empty()) {
        for (const auto& it : result.items) {
            if (it.graded && !it.passed) {
                std::string reason;
                for (const auto& o : it.outcomes) {
                    if (o.state == OutcomeState::fail || o.state == OutcomeState::not_built) {
                        reason = o.reason;
                        break;
                    }
                }
                std::string excerpt;
                for (const auto& o : it.outcomes) {
                    if (o.state == OutcomeState::fail && !o.excerpt.empty()) {
                        excerpt = o.excerpt;
                        break;
                    }
                }
                result.start_here = "Start here: task " + it.item.task + ", item " + it.item.name;
                if (!it.student_files.empty()) {
                    result.start_here += " in " + it.student_files.front();
                }
                result.start_here += ": " + first_message(excerpt, reason);
                break;
            }
        }
    }
    std::string cmd = "ci/grade " + opt.lesson;
    if (opt.impl != "starter") {
        cmd += " --impl " + opt.impl;
    }
    result.reproduce_all = cmd;
}

}  // namespace kit::grade
