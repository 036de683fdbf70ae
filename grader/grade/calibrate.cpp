// calibrate: the reference solution's measured time per item and variant, and the timeouts derived
// from it (the one formula in score.cpp), written to lessons/<lesson>/calibration.json.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <thread>

#include "build.hpp"
#include "collect.hpp"
#include "common/hmac.hpp"
#include "prepare.hpp"
#include "run.hpp"
#include "util.hpp"

namespace kit::grade {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path calibrate(const Options& options) {
    Options opt = options;
    opt.impl = "solution";
    opt.bug.clear();
    opt.pristine.clear();
    opt.only.clear();
    if (opt.out.empty()) {
        opt.out = fs::absolute(opt.root).lexically_normal() / "build" / "grade" /
                  (opt.lesson + "-calibrate");
    }
    // The same set-up as grade(): resolved options, inputs checked, the tree prepared and built.
    opt = resolve_options(opt);
    check_inputs(opt);
    fs::create_directories(opt.out);
    Progress progress;
    Timings timings;
    Prepared prep = prepare(opt, progress, timings);
    Pass pass{opt, progress, prep, {}, {}, {}};
    build_all(pass);
    for (auto& st : prep.states) {
        for (const auto& [bin, ok] : st.binary_ok) {
            if (!ok) {
                throw GradeError("the reference solution does not build in " + st.variant + " (" +
                                 bin + "); see " +
                                 (opt.out / ("build-" + st.variant + ".log")).string());
            }
        }
    }
    std::map<std::string, std::map<std::string, double>> measured;
    for (int round = 0; round < std::max(1, opt.calibrate_runs); ++round) {
        // No timeouts file: the reference is measured under the declared ceilings.
        const RunSettings settings{
            opt.out / "runs", {}, reachable_run_user(prep.states.front().dir),
            random_hex(32),   0,  nullptr};
        for (auto& st : prep.states) {
            run_tests(pass, st, settings);
            for (const auto& item : prep.manifest.items) {
                if (!item.present || std::find(item.variants.begin(), item.variants.end(),
                                               st.variant) == item.variants.end()) {
                    continue;
                }
                const VerdictLoad vl = load_verdict(
                    settings.runs_dir / st.variant / (item.name + ".json"), settings.secret);
                if (vl.state != VerdictState::verified ||
                    !verdict_passes(vl.verdict, item.repeat)) {
                    std::string why =
                        vl.state != VerdictState::verified
                            ? vl.detail
                            : plain_status(vl.verdict.runs.empty() ? RunVerdict{}
                                                                   : vl.verdict.runs.front());
                    for (const auto& r : vl.verdict.runs) {
                        if (r.status != RunStatus::pass) {
                            why = plain_status(r);
                        }
                    }
                    throw GradeError("the reference solution fails " + item.name + " in " +
                                     st.variant + " (" + why +
                                     "); fix it before calibrating (log: " +
                                     (opt.out / "runs" / st.variant).string() + ")");
                }
                double worst = 0;
                for (const auto& r : vl.verdict.runs) {
                    worst = std::max(worst, r.seconds);
                }
                double& slot = measured[item.name][st.variant];
                slot = std::max(slot, worst);
            }
        }
    }
    TimeoutPolicy policy;
    json items = json::object();
    for (const auto& item : prep.manifest.items) {
        if (measured.count(item.name) == 0) {
            continue;
        }
        json per = json::object();
        for (const auto& [variant, secs] : measured[item.name]) {
            const double t = derived_timeout(policy, item.timeout, secs);
            per[variant] = {{"measured", std::round(secs * 1000) / 1000},
                            {"timeout", std::ceil(t * 10) / 10}};
        }
        items[item.name] = per;
    }
    json doc = {
        {"lesson", opt.lesson},
        {"about",
         "Seconds per run of the reference solution (worst of the calibration runs) and the "
         "derived "
         "timeouts: max(floor_seconds, margin x measured), capped at the item's declared timeout. "
         "Regenerate with: ci/grade " +
             opt.lesson + " --calibrate"},
        {"margin", policy.margin},
        {"floor_seconds", policy.floor_seconds},
        {"runs", opt.calibrate_runs},
        {"machine", {{"cpus", std::thread::hardware_concurrency()}}},
        {"items", items}};
    fs::path path = opt.root / "lessons" / opt.lesson / "calibration.json";
    write_file(path, doc.dump(2) + "\n");
    return path;
}

}  // namespace kit::grade
