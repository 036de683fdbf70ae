// The limits of a build step (configure, compile, link) and the report when one is hit: a hostile
// student file (#include "/dev/ptmx", a template or macro bomb) costs the items that need it, never
// the whole grading.
#pragma once

#include <string>
#include <vector>

#include "findings.hpp"
#include "grade.hpp"
#include "process.hpp"

namespace kit::grade {

// Sets the wall-time and memory limits of Options on one build step's process options.
void set_build_limits(const Options& opt, ProcessOptions& po);

// One finding per limit the step hit: which step, which file (from the killed command line or the
// failed ninja edge), which limit and the option that raises it. Empty when no limit was hit.
std::vector<Finding> build_limit_findings(const ProcessResult& result, const Options& opt,
                                          const SourceMap& map, const std::string& step);

}  // namespace kit::grade
