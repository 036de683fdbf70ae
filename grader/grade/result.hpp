// The outcome of one grading run: per-item, per-variant states, findings and timings, as the
// reports read it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "findings.hpp"
#include "manifest.hpp"

namespace kit::grade {

// How one item fared in one variant.
enum class OutcomeState {
    pass,
    fail,
    not_built,     // did not compile
    not_required,  // the item skips this variant
    not_run,       // left out (--only, or its tests are absent)
};

// "pass", "fail", "not-built", "not-required", "not-run" (the words the reports print).
std::string to_string(OutcomeState state);

struct VariantOutcome {
    std::string variant;
    OutcomeState state = OutcomeState::not_run;
    int passed_runs = 0;
    int repeat = 1;
    std::string reason;              // one line in plain words
    std::string reproduce;           // shell command reproducing one failing run
    std::string excerpt;             // the relevant part of the failing run's log
    std::string hang;                // "deadlock" / "busy" when a run hung
    double timeout = 0;              // kit-run's wall-clock limit per run, 0 when unknown
    std::vector<std::string> notes;  // kit-run's remarks on the runs (left processes, dropped
                                     // output, no gdb), each once
};

struct ItemResult {
    Item item;
    bool graded = true;  // false: hidden tests absent, or left out by --only
    bool passed = false;
    double score = 0;
    std::vector<VariantOutcome> outcomes;
    std::vector<std::string>
        student_files;  // student files the failure points at (for "start here")
};

struct Timings {
    double configure = 0;
    double build = 0;
    double test = 0;
    double tidy = 0;
    double total = 0;
};

struct GradeResult {
    std::string lesson;
    std::string impl;
    std::string bug;
    std::vector<std::string> variants;
    std::vector<ItemResult> items;
    double score = 0;
    double max_score = 0;
    std::map<std::string, bool> built;    // variant -> its test binaries built
    std::vector<Finding> compile_errors;  // first errors, student lines first
    std::vector<Finding> findings;        // sanitizer, tidy and flag findings, merged
    std::vector<std::string> notes;       // things the reader must know (calibration missing, ...)
    std::string start_here;               // one line: where to start, empty at full marks
    std::string reproduce_all;            // the command that grades again
    std::string tidy_policy;              // how tidy findings affect the score
    bool tidy_ran = false;
    Timings timings;
};

// Exit status of kit-grade for a finished grading: 0 full marks, 1 anything less.
inline int exit_status(const GradeResult& r) {
    return (r.max_score > 0 && r.score >= r.max_score) ? 0 : 1;
}

}  // namespace kit::grade
