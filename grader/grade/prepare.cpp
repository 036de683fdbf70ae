// Phase 1, prepare: inputs, the tree to grade, configured build directories, the manifest.
#include "prepare.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <future>
#include <iostream>
#include <map>

#include "build_limits.hpp"
#include "cases.hpp"
#include "process.hpp"
#include "util.hpp"

namespace kit::grade {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string sanitize_option(const std::string& variant) {
    if (variant == "asan") {
        return "address,undefined";
    }
    if (variant == "tsan") {
        return "thread";
    }
    return "none";
}

std::string build_dir_name(const std::string& impl, const std::string& bug,
                           const std::string& variant) {
    return impl + (bug.empty() ? "" : "-bug-" + bug) + "-" + variant;
}

// True when an existing build directory already has the options this grading needs.
bool options_match(const fs::path& dir, const std::string& lesson, const std::string& impl,
                   const std::string& bug_option, const std::string& variant) {
    bool ok = false;
    std::string text = read_file_or_empty(dir / "meson-info" / "intro-buildoptions.json", &ok);
    if (!ok) {
        return false;
    }
    try {
        std::map<std::string, json> opts;
        for (const auto& o : json::parse(text)) {
            opts[o.value("name", "")] = o.value("value", json());
        }
        auto str = [&](const char* k) {
            return opts.count(k) != 0 && opts[k].is_string() ? opts[k].get<std::string>() : "";
        };
        bool lessons_ok = false;
        if (opts.count("lessons") != 0 && opts["lessons"].is_array()) {
            for (const auto& l : opts["lessons"]) {
                lessons_ok = lessons_ok || l == "all" || l == lesson;
            }
        }
        bool werror_ok = opts.count("student_werror") == 0 || opts["student_werror"] == false;
        return lessons_ok && werror_ok && str("impl") == impl && str("bug") == bug_option &&
               str("b_sanitize") == sanitize_option(variant);
    } catch (const json::exception&) {
        return false;
    }
}

// Configures (or reuses) one build directory. Returns the seconds spent. Throws GradeError on
// failure.
double configure(const fs::path& src, const fs::path& dir, const std::string& lesson,
                 const std::string& impl, const std::string& bug, const std::string& variant,
                 const fs::path& log, const Options& limits) {
    auto t0 = Clock::now();
    std::string bug_option = bug.empty() ? "" : lesson + "/" + bug;
    std::vector<std::string> opts = {"-Dimpl=" + impl, "-Dbug=" + bug_option,
                                     "-Db_sanitize=" + sanitize_option(variant),
                                     "-Dstudent_werror=false"};
    ProcessOptions po;
    po.cwd = src;
    po.log = log;
    set_build_limits(limits, po);
    if (fs::exists(dir / "build.ninja")) {
        if (options_match(dir, lesson, impl, bug_option, variant)) {
            // Regenerate only if a meson.build changed since the last configure (ninja decides;
            // cheap).
            ProcessResult r = run_process({"ninja", "-C", dir.string(), "build.ninja"}, po);
            if (r.ok() && fs::exists(dir / "kit" / (lesson + ".json"))) {
                return since(t0);
            }
        }
        std::vector<std::string> argv = {"meson",      "setup",      "--reconfigure",
                                         dir.string(), src.string(), "-Dlessons=" + lesson};
        argv.insert(argv.end(), opts.begin(), opts.end());
        if (run_process(argv, po).ok() && fs::exists(dir / "kit" / (lesson + ".json"))) {
            return since(t0);
        }
        // A broken or foreign directory: start it afresh.
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    std::vector<std::string> argv = {"meson", "setup", dir.string(), src.string(),
                                     "-Dlessons=" + lesson};
    argv.insert(argv.end(), opts.begin(), opts.end());
    ProcessResult r = run_process(argv, po);
    if (!r.ok()) {
        throw GradeError("meson setup failed for " + dir.string() + ": " +
                         first_error_line(r.output) + " (full log: " + log.string() + ")");
    }
    if (!fs::exists(dir / "kit" / (lesson + ".json"))) {
        throw GradeError("meson setup of " + dir.string() + " wrote no manifest kit/" + lesson +
                         ".json: is " + lesson + " listed in lessons/meson.build?");
    }
    return since(t0);
}

// without_solutions: leave solutions/ out, so that a student file graded against this tree (the
// grade of record, --pristine with the starter edition) cannot include the reference.
void copy_tree(const fs::path& from, const fs::path& dest, bool without_solutions) {
    fs::create_directories(dest);
    for (auto it = fs::recursive_directory_iterator(from); it != fs::recursive_directory_iterator();
         ++it) {
        fs::path rel = fs::relative(it->path(), from);
        std::string first = rel.begin()->string();
        if (it.depth() == 0 &&
            (first == ".git" || first == "build" || starts_with(first, "build-") ||
             (without_solutions && first == "solutions"))) {
            if (it->is_directory()) {
                it.disable_recursion_pending();
            }
            continue;
        }
        fs::path target = dest / rel;
        if (it->is_symlink()) {
            fs::copy_symlink(it->path(), target);
        } else if (it->is_directory()) {
            fs::create_directories(target);
        } else if (it->is_regular_file()) {
            fs::copy_file(it->path(), target, fs::copy_options::overwrite_existing);
        }
    }
}

fs::path default_kit_run() {
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path("kit-run") : self.parent_path() / "kit-run";
}

}  // namespace

fs::path default_out(const Options& options) {
    // Bug-zoo grades (kit checks) get their own directory so that they never overwrite a student's
    // reports.
    std::string name = options.lesson + (options.bug.empty() ? "" : "-bug-" + options.bug);
    return fs::absolute(options.root).lexically_normal() / "build" / "grade" / name;
}

Options resolve_options(const Options& options) {
    Options opt = options;
    if (opt.kit_run.empty()) {
        opt.kit_run = default_kit_run();
    }
    opt.root = fs::absolute(opt.root).lexically_normal();
    if (!opt.pristine.empty()) {
        opt.pristine = fs::absolute(opt.pristine).lexically_normal();
    }
    if (opt.out.empty()) {
        opt.out = default_out(opt);
    }
    opt.out = fs::absolute(opt.out).lexically_normal();
    return opt;
}

void check_inputs(const Options& opt) {
    if (!fs::is_directory(opt.root)) {
        throw GradeError("the submission " + opt.root.string() + " is not a directory");
    }
    if (opt.pristine.empty() && !fs::exists(opt.root / "meson.build")) {
        throw GradeError("no meson.build in " + opt.root.string() +
                         ": run ci/grade from the kit's repository root");
    }
    const fs::path& canon = opt.pristine.empty() ? opt.root : opt.pristine;
    if (!fs::exists(canon / "lessons" / opt.lesson / "meson.build")) {
        throw GradeError("no lesson named '" + opt.lesson + "' (" +
                         (canon / "lessons" / opt.lesson).string() +
                         " has no meson.build); lessons are folders under lessons/");
    }
    if (access(opt.kit_run.c_str(), X_OK) != 0) {
        throw GradeError("the runner " + opt.kit_run.string() +
                         " is missing; build it with: meson compile -C build/grader kit-run "
                         "(ci/grade does this)");
    }
    for (const auto& v : opt.variants) {
        if (v != "plain" && v != "asan" && v != "tsan") {
            throw GradeError("unknown variant '" + v + "': choose from plain, asan, tsan");
        }
    }
    if (opt.impl != "starter" && opt.impl != "solution") {
        throw GradeError("unknown --impl '" + opt.impl + "': choose starter or solution");
    }
}

// As root, the tests run as an unprivileged user (this grading's own uid, or KIT_RUN_USER). Every
// directory above the build dirs must let that user through; where one does not (a clone under
// /root, say), the tests run as root instead, with a warning, rather than failing every test for a
// reason that is not the student's.
std::string reachable_run_user(const fs::path& build_dir) {
    const char* user = std::getenv("KIT_RUN_USER");
    if (geteuid() != 0 || (user != nullptr && std::string(user) == "root")) {
        return {};
    }
    for (fs::path p = fs::absolute(build_dir); !p.empty() && p != p.root_path();
         p = p.parent_path()) {
        std::error_code ec;
        auto st = fs::status(p, ec);
        if (!ec && (st.permissions() & fs::perms::others_exec) == fs::perms::none) {
            std::cerr
                << "kit-grade: warning: tests would run as user "
                << (user != nullptr ? user : "of this grading") << ", who cannot enter "
                << p.string()
                << "; running them as root instead (less isolation). For full isolation: chmod o+x "
                << p.string() << "\n";
            return "root";
        }
    }
    return {};
}

Prepared prepare(const Options& opt, Progress& progress, Timings& timings) {
    const fs::path& out = opt.out;
    Prepared p;
    p.src = opt.root;
    if (!opt.pristine.empty()) {
        p.overlay = TempTree::create("kit-grade-");
        if (opt.keep_overlay) {
            p.overlay.keep();
        }
        // kit-run runs tests as an unprivileged user when the grader is root: it must reach the
        // overlay.
        fs::permissions(p.overlay.path(), fs::perms::others_exec | fs::perms::group_exec,
                        fs::perm_options::add);
        p.src = p.overlay.path() / "src";
        progress.start("copy pristine tree " + opt.pristine.string());
        copy_tree(opt.pristine, p.src, opt.impl == "starter" && opt.bug.empty());
    }
    auto t0 = Clock::now();
    progress.start("configure " + std::to_string(opt.variants.size()) + " variant(s)");
    // meson setup is mostly single-threaded Python: configure the variants side by side.
    std::vector<std::future<double>> jobs;
    jobs.reserve(opt.variants.size());
    for (const auto& v : opt.variants) {
        VariantState st;
        st.variant = v;
        st.dir = p.src / "build" / build_dir_name(opt.impl, opt.bug, v);
        p.states.push_back(st);
    }
    for (const auto& st : p.states) {
        jobs.push_back(std::async(std::launch::async, [&, st] {
            return configure(p.src, st.dir, opt.lesson, opt.impl, opt.bug, st.variant,
                             out / ("configure-" + st.variant + ".log"), opt);
        }));
    }
    std::string first_error;
    for (auto& j : jobs) {
        try {
            j.get();
        } catch (const GradeError& e) {
            if (first_error.empty()) {
                first_error = e.what();
            }
        }
    }
    if (!first_error.empty()) {
        throw GradeError(first_error);
    }
    timings.configure = since(t0);
    progress.finish("configured " + std::to_string(p.states.size()) + " build dir(s) in " +
                    format_seconds(timings.configure));
    p.manifest = load_manifest(p.states.front().dir / "kit" / (opt.lesson + ".json"));
    if (!opt.bug.empty() && p.manifest.bug != opt.bug) {
        throw GradeError("bug '" + opt.bug + "' is not declared by " + opt.lesson);
    }
    for (const auto& name : opt.only) {
        bool found = std::any_of(p.manifest.items.begin(), p.manifest.items.end(),
                                 [&](const Item& i) { return i.name == name; });
        if (!found) {
            std::string names;
            for (const auto& i : p.manifest.items) {
                names += (names.empty() ? "" : ", ") + i.name;
            }
            throw GradeError("--only " + name + ": " + opt.lesson +
                             " has no item of that name (items: " + names.append(")"));
        }
    }
    if (!opt.pristine.empty()) {
        // Overlay: only the student-owned files come from the submission.
        for (const auto& rel : compiled_student_files(p.manifest)) {
            fs::path from = opt.root / rel;
            if (fs::exists(from)) {
                fs::copy_file(from, p.src / rel, fs::copy_options::overwrite_existing);
            }
        }
    }
    // Each item's cases, from the built tree's test sources: with --pristine they are the
    // canonical tests (the overlay takes only student-owned files from the submission).
    p.cases = expected_cases(p.manifest, p.src);
    return p;
}

}  // namespace kit::grade
