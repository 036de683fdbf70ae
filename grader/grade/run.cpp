// Phase 3, run: meson test --wrapper kit-run over the selected items of one variant. Meson's
// harness runs them (parallelism, suites, logs); kit-run adds isolation, limits, hang diagnosis and
// the signed verdict, configured on its command line.
#include "run.hpp"

#include <algorithm>
#include <regex>

#include "common/shell.hpp"
#include "process.hpp"
#include "util.hpp"

namespace kit::grade {

namespace fs = std::filesystem;

std::string kit_run_wrapper(const Options& opt, const RunSettings& settings) {
    std::vector<std::string> words = {opt.kit_run.string(), "--out=" + settings.runs_dir.string()};
    if (!settings.timeouts.empty()) {
        words.push_back("--timeouts=" + settings.timeouts.string());
    }
    if (!settings.run_user.empty()) {
        words.push_back("--run-user=" + settings.run_user);
    }
    return shell_join(words);
}

void run_tests(Pass& pass, VariantState& st, const RunSettings& settings) {
    const Options& opt = pass.opt;
    Progress& progress = pass.progress;
    const Manifest& manifest = pass.prep.manifest;
    const fs::path& out = opt.out;

    std::vector<std::string> tests;
    int max_repeat = 1;
    for (const auto& it : manifest.items) {
        if (it.present && pass.selected(it) && st.binary_ok[it.binary] &&
            pass.required(it, st.variant)) {
            tests.push_back(it.test);
            max_repeat = std::max(max_repeat, it.repeat);
        }
    }
    std::error_code ec;
    fs::remove_all(settings.runs_dir / st.variant, ec);
    fs::create_directories(settings.runs_dir / st.variant);
    if (tests.empty()) {
        return;
    }
    auto t0 = Clock::now();
    std::vector<std::string> argv = {"meson",
                                     "test",
                                     "-C",
                                     st.dir.string(),
                                     "--no-rebuild",
                                     "--wrapper",
                                     kit_run_wrapper(opt, settings),
                                     "--num-processes",
                                     "2",
                                     "--timeout-multiplier",
                                     std::to_string(max_repeat + 1),
                                     "--quiet"};
    argv.insert(argv.end(), tests.begin(), tests.end());
    ProcessOptions po;
    // Only the secret travels in the environment: a command line is visible to every user.
    po.env_set = {{"KIT_RUN_SECRET", settings.secret}};
    po.env_unset = {"MESON_TESTTHREADS"};
    po.log = out / ("test-" + st.variant + ".log");
    int total = static_cast<int>(tests.size());
    int done = 0;
    progress.start("test " + st.variant);
    progress.update(0, total, "");
    static const std::regex line_re(R"(^\s*(\d+)/(\d+)\s+(\S+)\s+(\S+))");
    po.on_line = [&](std::string_view line) {
        std::smatch m;
        std::string l(line);
        if (std::regex_search(l, m, line_re)) {
            done = std::stoi(m[1]);
            progress.update(done, total, std::string(m[3]) + " " + std::string(m[4]));
        }
    };
    ProcessResult r = run_process(argv, po);
    double secs = since(t0);
    pass.timings.test += secs;
    progress.finish("ran " + std::to_string(total) + " " + st.variant + " item(s) in " +
                    format_seconds(secs));
    if (r.exit_code == 127 || r.exit_code == 125) {
        throw GradeError("meson test could not run in " + st.dir.string() + ": " +
                         first_error_line(r.output) + " (log: " + po.log.string() + ")");
    }
}

}  // namespace kit::grade
