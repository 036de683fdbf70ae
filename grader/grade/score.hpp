// Phase 5, score: points per item under the all-N-must-pass policy, and the one timeout formula
// (used by grading and by calibration). item_score, derive_timeouts and TimeoutPolicy are declared
// in grade.hpp for the unit tests.
#pragma once

#include <string>
#include <vector>

#include "pipeline.hpp"

namespace kit::grade {

// Scores every item of result (score, passed, the student files a failure points at) and the
// totals. `failure_logs` is collect()'s per-item log text.
void score(GradeResult& result, const Manifest& manifest,
           const std::vector<std::string>& failure_logs);

// The reference's calibration.json text from `tree` ("" when there is none).
std::string load_calibration(const std::filesystem::path& tree, const std::string& lesson);

}  // namespace kit::grade
