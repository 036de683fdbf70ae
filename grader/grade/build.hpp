// Phase 2, build: the test binaries the selected items need, every variant side by side, ninja -k
// 0; compile errors become findings, and each binary is marked built or not.
#pragma once

#include "pipeline.hpp"

namespace kit::grade {

// Builds every variant of pass.prep.states at once (the cores stay busy while one build links).
void build_all(Pass& pass);

}  // namespace kit::grade
