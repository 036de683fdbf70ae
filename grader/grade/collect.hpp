// Phase 4, collect: kit-run's verdicts, verified with the run's secret, become per-variant outcomes
// (with kit-run's reason, notes, timeout and hang kind); sanitizer logs become findings.
#pragma once

#include <string>
#include <vector>

#include "common/verdict.hpp"
#include "pipeline.hpp"

namespace kit::grade {

// Fills result.items (outcomes only; score() decides points) and adds sanitizer findings.
// `failure_logs` gets, per item, the text of the logs of its failing runs (for "start here").
void collect(const Pass& pass, const RunSettings& settings, GradeResult& result,
             std::vector<Finding>& findings, std::vector<std::string>& failure_logs);

// A failing run in plain words (kit-run's reason when it gave one).
std::string plain_status(const RunVerdict& run);

// The student files a failure points at: a student path named in the log, else the bug zoo's
// mapping.
std::vector<std::string> files_for_item(const Manifest& m, const Item& item,
                                        const std::string& log_text);

}  // namespace kit::grade
