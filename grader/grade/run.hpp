// Phase 3, run: meson test with kit-run as the wrapper, for one variant.
#pragma once

#include "pipeline.hpp"

namespace kit::grade {

// Runs the variant's selected, built items; their verdicts land in settings.runs_dir/<variant>.
// Throws GradeError when meson test itself cannot run.
void run_tests(Pass& pass, VariantState& st, const RunSettings& settings);

// The --wrapper argument: kit-run and its options, quoted for Meson's shlex split.
std::string kit_run_wrapper(const Options& opt, const RunSettings& settings);

}  // namespace kit::grade
