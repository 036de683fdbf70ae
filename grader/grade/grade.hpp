// kit-grade's entry points: grade() (prepare -> build -> run -> collect -> score -> report data)
// and calibrate(); each phase lives in a file named after it (see pipeline.hpp).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "result.hpp"

namespace kit::grade {

// What to grade and how. Filled from the command line by main().
struct Options {
    std::string command = "grade";  // "grade" or "calibrate"
    std::string lesson;
    std::string impl = "starter";
    std::vector<std::string> variants = {"plain", "asan", "tsan"};
    std::filesystem::path root;  // the submission tree (student-owned files come from here)
    std::filesystem::path
        pristine;                 // canonical tree for everything else; empty: grade root as it is
    std::filesystem::path out;    // reports; default <root>/build/grade/<lesson>
    std::string format = "text";  // text | json | markdown | github
    std::vector<std::string> only;  // item names; empty: all
    std::string bug;                // bug-zoo entry name (kit checks)
    std::filesystem::path kit_run;  // the runner wrapper; default next to kit-grade
    bool tidy = true;
    bool keep_overlay = false;
    int jobs = 0;            // ninja -j; 0: ninja's default
    int calibrate_runs = 2;  // meson test passes per variant when calibrating
    // Build-step limits (configure, compile, link): a hostile student file (#include "/dev/ptmx",
    // a template or macro bomb) must not stop the grading. Generous: the honest lesson 7 build
    // on a loaded 2-core machine stays far below them.
    double build_step_seconds = 3600;      // one ninja or meson setup run, as a whole
    double build_process_seconds = 600;    // one compile or link below it
    std::uint64_t build_memory_mb = 4096;  // address space of every build process
};

// Timeout policy applied to calibration measurements: max(floor, margin x measured), capped at the
// item's ceiling.
struct TimeoutPolicy {
    double margin = 10;
    double floor_seconds = 5;
};

// Grades one lesson. Throws GradeError when grading itself cannot proceed (exit 2); a submission
// that does not compile or fails tests is a normal result. Progress goes to stderr.
GradeResult grade(const Options& options);

// Builds the reference solution, runs every item calibrate_runs times, and writes
// lessons/<lesson>/calibration.json in the root tree. Returns the path written. Throws GradeError.
std::filesystem::path calibrate(const Options& options);

// The one timeout formula: max(floor, margin x measured), capped at the item's declared ceiling.
double derived_timeout(const TimeoutPolicy& policy, double ceiling, double measured);

// Derives the KIT_TIMEOUTS document ({"item": {"variant": secs}}) from a calibration document and
// the items' declared ceilings. Items or variants without a measurement get their ceiling.
std::string derive_timeouts(const std::string& calibration_json, const std::vector<Item>& items,
                            const std::vector<std::string>& variants);

// Where reports go without --out: <root>/build/grade/<lesson>, or <lesson>-bug-<name> for --bug.
std::filesystem::path default_out(const Options& options);

// Score of one item under the all-N-must-pass policy: full points when every required outcome
// passed.
double item_score(const ItemResult& item);

}  // namespace kit::grade
