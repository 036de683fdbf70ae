// Phase 1, prepare: check the inputs, make the tree to grade (the working tree, or with --pristine
// an overlay of the canonical tree with only the student-owned files taken from the submission),
// configure one build directory per variant, and read the lesson's manifest.
#pragma once

#include <filesystem>
#include <string>

#include "pipeline.hpp"

namespace kit::grade {

// Options with absolute paths and defaults filled in (kit-run next to kit-grade, the out dir).
Options resolve_options(const Options& options);

// Throws GradeError with a one-line reason when the options cannot work.
void check_inputs(const Options& opt);

// Prepares and configures; throws GradeError. The overlay, if any, lives in the result.
Prepared prepare(const Options& opt, Progress& progress, Timings& timings);

// The user kit-run should run the tests as: "" (kit-run's default, nobody when root) or "root" with
// a warning, when that user cannot enter the build tree (a clone under /root, say).
std::string reachable_run_user(const std::filesystem::path& build_dir);

}  // namespace kit::grade
