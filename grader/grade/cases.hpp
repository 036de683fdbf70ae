// Which GoogleTest cases each item must run, read from the test sources of the tree being graded
// (with --pristine, the instructor's canonical tests), never from anything the test process
// reports: a run passes only if its signed record lists exactly these cases, each passed.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "manifest.hpp"

namespace kit::grade {

// The "Suite.Name" of every TEST(Suite, Name) in C++ source text, in order, read with comments and
// string literals skipped; DISABLED_ cases (which GoogleTest does not run) are left out. The
// lessons declare cases with TEST only; the reference grade proves this list equals GoogleTest's
// own for every item, because a case missing here or a case the binary lacks fails the item.
std::vector<std::string> declared_cases(std::string_view source);

// GoogleTest's --gtest_filter semantics: ':'-separated positive patterns, then an optional '-' and
// negative patterns; '*' matches any string and '?' one character; no positive part means '*'.
bool filter_selects(std::string_view filter, std::string_view name);

// item name -> the sorted cases its filter selects among the cases of the item's test binary's
// sources (<lesson dir>/tests/<visibility>/*.cpp under tree). Items whose sources are absent
// (present = false) have no entry. Throws GradeError when a test source cannot be read.
std::map<std::string, std::vector<std::string>> expected_cases(const Manifest& manifest,
                                                               const std::filesystem::path& tree);

// "" when the run's record lists exactly the expected cases; otherwise one line naming what is
// missing and what is extra (at most a few names of each).
std::string case_list_problem(const std::vector<std::string>& expected,
                              const std::vector<std::string>& passed,
                              const std::vector<std::string>& failed);

}  // namespace kit::grade
