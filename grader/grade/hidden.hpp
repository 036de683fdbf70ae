// Hidden stays hidden: the grade of record makes the hidden tests and the reference unreadable to
// the test user, and a public item's output never carries a line of a hidden test source.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "pipeline.hpp"

namespace kit::grade {

// With --pristine as root (the grade of record), makes solutions/, the lesson's tests/hidden and
// the build dirs' object folders (*.p: compiled hidden tests) 0700 root in the overlay tree, so the
// test user cannot read them; the test binaries still run. Returns a note, or "" when nothing was
// to hide (a student grading their own tree can read all of it anyway).
std::string hide_from_tests(const Options& opt, const Prepared& prep);

// The lines of the lesson's hidden test sources worth redacting: trimmed, at least 16 characters,
// and not also a line of a public test source (those are visible anyway).
std::vector<std::string> hidden_lines(const std::filesystem::path& src, const std::string& dir);

// `text` with every line that contains a hidden line replaced by a note saying so.
std::string redact_hidden(const std::string& text, const std::vector<std::string>& hidden);

}  // namespace kit::grade
