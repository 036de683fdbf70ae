// Phase 6 (the data half of report): the notes a reader must know, the one line saying where to
// start, and the command that grades again. report.cpp and report_text.cpp render the result.
#pragma once

#include "pipeline.hpp"

namespace kit::grade {

void summarize(const Options& opt, GradeResult& result);

}  // namespace kit::grade
