// Report writers: Gradescope results.json, JUnit XML, Markdown summary, GitHub annotations and the
// terminal view.
#pragma once

#include <string>

#include "result.hpp"

namespace kit::grade {

// Gradescope's results.json: score, max_score, tests[...], extra_data.findings (student /
// instructor).
std::string render_results_json(const GradeResult& r);

// JUnit XML: one testsuite per lesson, one testcase per graded item, a failure element when it
// failed.
std::string render_junit(const GradeResult& r);

// Markdown for $GITHUB_STEP_SUMMARY: score, item table, where to start, compile errors, findings.
std::string render_markdown(const GradeResult& r);

// GitHub workflow commands (::error/::warning file=..,line=..::msg): at most max_annotations, one
// per signature, student-owned lines first, then the rest that have a file.
std::string render_annotations(const GradeResult& r, std::size_t max_annotations = 10);

// The terminal view: item table, start here, compile errors, findings, "Score: X/Y". colour: ANSI
// colours.
std::string render_text(const GradeResult& r, bool colour);

// Escapes a message or property value for a GitHub workflow command.
std::string github_escape(const std::string& text, bool property);

}  // namespace kit::grade
