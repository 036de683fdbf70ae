// kit-grade: grades a lesson (build, run under kit-run, collect, score, report) or calibrates its
// timeouts.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "grade.hpp"
#include "report.hpp"
#include "util.hpp"

namespace {

namespace fs = std::filesystem;
using kit::grade::GradeError;

constexpr const char* usage_text = R"(usage: kit-grade [grade] LESSON [options]
       kit-grade calibrate LESSON [--variants ...] [--runs N]

Grades LESSON: configures build/<impl>[-bug-<name>]-<variant> per variant, builds the test binaries with
ninja -k 0, runs the graded items through meson test --wrapper kit-run, verifies kit-run's signed verdicts,
parses sanitizer reports and clang-tidy findings, scores and writes results.json, junit.xml and summary.md.

options:
  --impl starter|solution   which student files to compile (default starter)
  --variants LIST           comma-separated subset of plain,asan,tsan (default all three)
  --only ITEM,...           grade only these items
  --bug NAME                grade the bug-zoo entry NAME (build dirs build/<impl>-bug-NAME-<variant>)
  --pristine DIR            take only the student-owned files from the submission, everything else from DIR
  --submission DIR          the tree to grade (default: the current directory)
  --out DIR                 where reports go (default <submission>/build/grade/LESSON[-bug-NAME])
  --format text|json|markdown|github   what goes to stdout (github adds ::error annotations)
  --calibrate               same as the calibrate command
  --runs N                  calibration passes per variant (default 2)
  --no-tidy                 skip clang-tidy (always skipped with --bug)
  --jobs N                  ninja parallelism
  --kit-run PATH            the runner wrapper (default: next to kit-grade)
  --keep-overlay            keep the temporary overlay tree of --pristine
  --build-step-timeout S    wall-time limit of one build step, a whole ninja or meson setup run
                            (default 3600); the step is killed, its items score 0, the rest is graded
  --build-process-timeout S wall-time limit of one compile or link below it (default 600)
  --build-memory MIB        address-space limit of every build process (default 4096)
  -h, --help                this text

exit status: 0 full marks, 1 partial marks, 2 could not grade (the reason is printed on one line).
)";

[[noreturn]] void usage_error(const std::string& msg) {
    throw GradeError(msg + " (see kit-grade --help)");
}

int parse_count(const std::string& option, const std::string& text) {
    try {
        std::size_t used = 0;
        int n = std::stoi(text, &used);
        if (used == text.size() && n > 0) {
            return n;
        }
    } catch (const std::exception&) {
    }
    usage_error(option + " needs a positive number, got '" + text + "'");
}

kit::grade::Options parse_args(int argc, char** argv) {
    kit::grade::Options o;
    o.root = fs::current_path();
    std::vector<std::string> args(argv + 1, argv + argc);
    std::vector<std::string> positional;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) {
                usage_error(a + " needs a value");
            }
            return args[++i];
        };
        if (a == "-h" || a == "--help") {
            std::cout << usage_text;
            std::exit(0);
        } else if (a == "--impl") {
            o.impl = value();
        } else if (a == "--variants") {
            o.variants = kit::grade::split(value(), ',');
        } else if (a == "--only") {
            o.only = kit::grade::split(value(), ',');
        } else if (a == "--bug") {
            o.bug = value();
        } else if (a == "--pristine") {
            o.pristine = value();
        } else if (a == "--submission" || a == "--root") {
            o.root = value();
        } else if (a == "--out") {
            o.out = value();
        } else if (a == "--format") {
            o.format = value();
        } else if (a == "--calibrate") {
            o.command = "calibrate";
        } else if (a == "--runs") {
            o.calibrate_runs = parse_count(a, value());
        } else if (a == "--no-tidy") {
            o.tidy = false;
        } else if (a == "--jobs" || a == "-j") {
            o.jobs = parse_count(a, value());
        } else if (a == "--kit-run") {
            o.kit_run = value();
        } else if (a == "--build-step-timeout") {
            o.build_step_seconds = parse_count(a, value());
        } else if (a == "--build-process-timeout") {
            o.build_process_seconds = parse_count(a, value());
        } else if (a == "--build-memory") {
            o.build_memory_mb = static_cast<std::uint64_t>(parse_count(a, value()));
        } else if (a == "--keep-overlay") {
            o.keep_overlay = true;
        } else if (!a.empty() && a[0] == '-') {
            usage_error("unknown option " + a);
        } else {
            positional.push_back(a);
        }
    }
    if (!positional.empty() && (positional[0] == "grade" || positional[0] == "calibrate")) {
        if (positional[0] == "calibrate") {
            o.command = "calibrate";
        }
        positional.erase(positional.begin());
    }
    if (positional.size() != 1) {
        usage_error(positional.empty()
                        ? "name the lesson to grade, e.g. kit-grade lesson7"
                        : "one lesson at a time, got " + std::to_string(positional.size()));
    }
    o.lesson = positional[0];
    if (o.format != "text" && o.format != "json" && o.format != "markdown" &&
        o.format != "github") {
        usage_error("unknown --format " + o.format + ": choose text, json, markdown or github");
    }
    if (o.variants.empty()) {
        usage_error("--variants is empty: list some of plain,asan,tsan");
    }
    return o;
}

int run(int argc, char** argv) {
    kit::grade::Options opt = parse_args(argc, argv);
    if (opt.command == "calibrate") {
        fs::path written = kit::grade::calibrate(opt);
        std::cout << "kit-grade: wrote " << written.string() << "\n";
        return 0;
    }
    kit::grade::GradeResult r = kit::grade::grade(opt);
    fs::path out = opt.out.empty() ? kit::grade::default_out(opt) : fs::absolute(opt.out);
    std::string json = kit::grade::render_results_json(r);
    std::string markdown = kit::grade::render_markdown(r);
    kit::grade::write_file(out / "results.json", json);
    kit::grade::write_file(out / "junit.xml", kit::grade::render_junit(r));
    kit::grade::write_file(out / "summary.md", markdown);
    if (const char* summary = std::getenv("GITHUB_STEP_SUMMARY");
        summary != nullptr && *summary != '\0') {
        std::string existing = kit::grade::read_file_or_empty(summary);
        kit::grade::write_file(summary, existing + markdown);
    }
    std::string score_line = "Score: " + kit::grade::format_points(r.score) + "/" +
                             kit::grade::format_points(r.max_score);
    bool colour = isatty(1) != 0 && std::getenv("NO_COLOR") == nullptr;
    if (opt.format == "json") {
        std::cout << json;
        std::cerr << score_line << "\n";
    } else if (opt.format == "markdown") {
        std::cout << markdown;
    } else {
        if (opt.format == "github") {
            std::cout << kit::grade::render_annotations(r, 10);
        }
        std::cout << kit::grade::render_text(r, colour);
        std::cout << "Reports: " << (out / "results.json").string() << ", junit.xml, summary.md\n";
    }
    std::cout.flush();
    if (r.max_score <= 0) {
        throw GradeError(
            "nothing was graded: " + opt.lesson +
            " has no graded item present in this tree for the chosen variants and --only");
    }
    return kit::grade::exit_status(r);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const GradeError& e) {
        std::cout.flush();
        std::cerr << "kit-grade: could not grade: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "kit-grade: could not grade: internal error: " << e.what()
                  << " (please report it with the command you ran)\n";
        return 2;
    }
}
