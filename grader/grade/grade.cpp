// kit-grade's pipeline: grade() is the sequence of its phases, each in the file named after it.
#include "grade.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "audit.hpp"
#include "build.hpp"
#include "collect.hpp"
#include "common/hmac.hpp"
#include "hidden.hpp"
#include "prepare.hpp"
#include "run.hpp"
#include "score.hpp"
#include "summary.hpp"
#include "tidy.hpp"
#include "util.hpp"

namespace kit::grade {

namespace fs = std::filesystem;

namespace {

GradeResult empty_result(const Options& opt) {
    GradeResult result;
    result.lesson = opt.lesson;
    result.impl = opt.impl;
    result.bug = opt.bug;
    result.variants = opt.variants;
    result.tidy_policy =
        "clang-tidy findings and flagged lines are reported, not charged: the score comes from the "
        "tests; sanitizer reports already fail the run they happen in.";
    return result;
}

// The uid kit-run runs the tests as: the grader's own user, root when told, else KIT_RUN_USER
// (default nobody), as kit-run's config resolves it.
unsigned test_uid(const std::string& run_user) {
    if (::geteuid() != 0 || run_user == "root") {
        return ::geteuid();
    }
    const char* chosen = std::getenv("KIT_RUN_USER");
    const std::string name = chosen != nullptr && *chosen != '\0' ? chosen : "nobody";
    if (name == "root") {
        return 0;
    }
    const passwd* entry = ::getpwnam(name.c_str());  // NOLINT(concurrency-mt-unsafe): one thread
    return entry != nullptr ? entry->pw_uid : 0;
}

// kit-run's settings for this grading: a fresh secret, the timeouts derived from the reference's
// calibration (the canonical tree's copy with --pristine), and the user the tests run as.
RunSettings run_settings(const Options& opt, const Prepared& prep, GradeResult& result) {
    const std::string cal =
        load_calibration(opt.pristine.empty() ? prep.src : opt.pristine, opt.lesson);
    if (cal.empty()) {
        result.notes.push_back(
            "no lessons/" + opt.lesson +
            "/calibration.json: timeouts are the declared ceilings (regenerate with: ci/grade " +
            opt.lesson + " --calibrate)");
    }
    RunSettings settings;
    settings.runs_dir = opt.out / "runs";
    settings.timeouts = opt.out / "timeouts.json";
    write_file(settings.timeouts, derive_timeouts(cal, prep.manifest.items, opt.variants));
    settings.run_user = reachable_run_user(prep.states.front().dir);
    if (settings.run_user == "root") {
        result.notes.emplace_back(
            "the tests ran as root: the test user could not enter the build tree (see the "
            "warning above)");
    }
    settings.secret = random_hex(32);
    settings.test_uid = test_uid(settings.run_user);
    const char* chosen = std::getenv("KIT_RUN_USER");  // NOLINT(concurrency-mt-unsafe): one thread
    if (::geteuid() == 0 && settings.run_user.empty() && (chosen == nullptr || *chosen == '\0')) {
        // As root with no user chosen: a uid of this grading's own, not the shared nobody.
        settings.lease = TestUserLease::acquire();
        settings.test_uid = settings.lease->uid();
        settings.run_user = "#" + std::to_string(settings.test_uid);
        result.notes.push_back("the tests ran as uid " + std::to_string(settings.test_uid) +
                               ", a user of this grading's own (process limits and files are "
                               "not shared with other gradings)");
    }
    return settings;
}

}  // namespace

GradeResult grade(const Options& options) {
    const auto t_start = Clock::now();
    const Options opt = resolve_options(options);
    check_inputs(opt);
    fs::create_directories(opt.out);
    Progress progress;
    GradeResult result = empty_result(opt);

    Prepared prep = prepare(opt, progress, result.timings);  // the overlay dies with prep
    Pass pass{opt, progress, prep, {}, {}, {}};
    std::vector<Finding> flag_findings = scan_student_flags(opt, prep);
    TidyJob tidy = start_tidy(opt, prep, result.notes);
    const RunSettings settings = run_settings(opt, prep, result);

    // Integrity: what the student's sources hide from the sanitizers, and what their objects
    // define, reference, initialise and include. Any finding means no test of this build runs.
    std::vector<Finding> integrity = scan_student_hiding(opt, prep);
    build_all(pass);
    merge_findings(integrity, audit_objects(pass), "audit");
    if (const std::string hidden = hide_from_tests(opt, prep); !hidden.empty()) {
        result.notes.push_back(hidden);
    }
    if (integrity.empty()) {
        for (auto& st : prep.states) {
            run_tests(pass, st, settings);
        }
    }

    std::vector<Finding> findings;
    std::vector<std::string> failure_logs;
    collect(pass, settings, result, findings, failure_logs);
    // A public item's output never carries a line of a hidden test source.
    const std::vector<std::string> hidden = hidden_lines(prep.src, prep.manifest.dir);
    for (auto& ir : result.items) {
        if (ir.item.visibility == "public") {
            for (auto& o : ir.outcomes) {
                o.excerpt = redact_hidden(o.excerpt, hidden);
            }
        }
    }
    apply_integrity(result, integrity);
    score(result, prep.manifest, failure_logs);

    if (tidy.future.valid()) {
        auto [tidy_findings, secs] = tidy.future.get();
        result.timings.tidy = secs;
        result.tidy_ran = true;
        merge_findings(findings, tidy_findings, "tidy");
    }
    merge_findings(findings, flag_findings, "source");
    merge_findings(findings, integrity, "integrity");
    sort_findings(findings);
    result.findings = findings;
    result.compile_errors = pass.compile_errors;
    for (const auto& st : prep.states) {
        result.built[st.variant] = st.any_ok;
    }
    summarize(opt, result);
    result.timings.build = pass.timings.build;
    result.timings.test = pass.timings.test;
    result.timings.total = since(t_start);
    return result;
}

}  // namespace kit::grade
