// The grading pipeline: prepare -> build -> run -> collect -> score, and the calibration of
// timeouts.
#include "grade.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/hmac.hpp"
#include "common/verdict.hpp"
#include "process.hpp"
#include "util.hpp"

namespace kit::grade {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// Progress on stderr: a redrawn bar on a terminal, one line per phase otherwise.
class Progress {
  public:
    Progress() : tty_(isatty(2) != 0), colour_(tty_ && std::getenv("NO_COLOR") == nullptr) {}

    void start(const std::string& phase) {
        std::lock_guard<std::mutex> lock(mutex_);
        phase_ = phase;
        if (!tty_) {
            std::cerr << "kit-grade: " << phase << " ..." << std::endl;
        }
    }
    // Several builds at once: one bar over their sum, with each one's count.
    void update_part(const std::string& key, int done, int total) {
        std::string label;
        int d = 0;
        int t = 0;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            parts_[key] = {done, total};
            for (const auto& [k, v] : parts_) {
                d += v.first;
                t += v.second;
                label += k + " " + std::to_string(v.first) + "/" + std::to_string(v.second) + "  ";
            }
        }
        update(d, t, label);
    }
    void update(int done, int total, const std::string& label) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!tty_ || total <= 0) {
            return;
        }
        constexpr int width = 24;
        int filled = std::clamp(done * width / total, 0, width);
        std::string bar(static_cast<std::size_t>(filled), '#');
        bar += std::string(static_cast<std::size_t>(width - filled), '.');
        std::string text = label.size() > 60 ? "..." + label.substr(label.size() - 57) : label;
        std::cerr << "\r\x1b[K" << paint("36", phase_) << " [" << bar << "] " << done << "/"
                  << total << " " << text << std::flush;
    }
    void finish(const std::string& message) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (tty_) {
            std::cerr << "\r\x1b[K";
        }
        std::cerr << "kit-grade: " << message << std::endl;
    }

  private:
    std::string paint(const char* code, const std::string& s) const {
        return colour_ ? std::string("\x1b[") + code + "m" + s + "\x1b[0m" : s;
    }
    std::mutex mutex_;
    bool tty_;
    bool colour_;
    std::string phase_;
    std::map<std::string, std::pair<int, int>> parts_;
};

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

std::string first_error_line(const std::string& text) {
    for (const auto& l : split_lines(text)) {
        if (l.find("ERROR:") != std::string::npos || l.find("error:") != std::string::npos) {
            return trim(l);
        }
    }
    auto lines = split_lines(trim(text));
    return lines.empty() ? "(no output)" : lines.back();
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
                 const fs::path& log) {
    auto t0 = Clock::now();
    std::string bug_option = bug.empty() ? "" : lesson + "/" + bug;
    std::vector<std::string> opts = {"-Dimpl=" + impl, "-Dbug=" + bug_option,
                                     "-Db_sanitize=" + sanitize_option(variant),
                                     "-Dstudent_werror=false"};
    ProcessOptions po;
    po.cwd = src;
    po.log = log;
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

// The ninja target (path relative to the build dir) that produces an executable named binary.
std::string ninja_target(const fs::path& dir, const std::string& binary) {
    std::string text = read_file_or_empty(dir / "build.ninja");
    std::size_t pos = 0;
    while ((pos = text.find("\nbuild ", pos)) != std::string::npos) {
        pos += 7;
        std::size_t colon = text.find(':', pos);
        std::size_t nl = text.find('\n', pos);
        if (colon == std::string::npos || colon > nl) {
            continue;
        }
        std::string out = text.substr(pos, colon - pos);
        if (out == binary || ends_with(out, "/" + binary)) {
            return out;
        }
    }
    return "kit/" + binary;
}

bool target_up_to_date(const fs::path& dir, const std::string& target) {
    ProcessResult r = run_process({"ninja", "-C", dir.string(), "-n", target});
    return r.ok() && r.output.find("no work to do") != std::string::npos;
}

// The relevant part of a failing run's log: the first failed gtest case, or the tail.
std::string log_excerpt(const std::string& log_path) {
    bool ok = false;
    std::string text = read_file_or_empty(log_path, &ok);
    if (!ok || text.empty()) {
        return {};
    }
    auto lines = split_lines(text);
    std::vector<std::string> pick;
    bool in_case = false;
    for (const auto& l : lines) {
        if (starts_with(l, "[ RUN      ]")) {
            in_case = true;
            pick.clear();
        }
        if (in_case) {
            pick.push_back(l);
        }
        if (starts_with(l, "[  FAILED  ]") && in_case) {
            break;
        }
        if (starts_with(l, "[       OK ]")) {
            in_case = false;
            pick.clear();
        }
    }
    if (pick.empty()) {
        std::size_t from = lines.size() > 15 ? lines.size() - 15 : 0;
        pick.assign(lines.begin() + static_cast<std::ptrdiff_t>(from), lines.end());
    }
    if (pick.size() > 25) {
        pick.resize(25);
        pick.emplace_back("[...]");
    }
    std::string out;
    for (const auto& l : pick) {
        out += (l.size() > 300 ? l.substr(0, 300) + "..." : l) + "\n";
    }
    return strip_ansi(out);
}

// The most telling line of a failure excerpt: a thrown exception's text, else the first hint, else
// reason.
std::string first_message(const std::string& excerpt, const std::string& reason) {
    static const std::regex thrown(R"re(C\+\+ exception with description "(.*)" thrown in)re");
    std::smatch m;
    for (const auto& l : split_lines(excerpt)) {
        if (std::regex_search(l, m, thrown)) {
            return m[1];
        }
    }
    for (const auto& l : split_lines(excerpt)) {
        if (l.find("hint:") != std::string::npos) {
            return trim(l);
        }
    }
    return reason;
}

// Results meson itself recorded (used when kit-run left no verdict).
std::map<std::string, std::string> meson_results(const fs::path& dir) {
    std::map<std::string, std::string> out;
    for (const auto& l : split_lines(read_file_or_empty(dir / "meson-logs" / "testlog.json"))) {
        try {
            json j = json::parse(l);
            out[j.value("name", "")] = j.value("result", "");
        } catch (const json::exception&) {
        }
    }
    return out;
}

// Copies the canonical tree (without build output and VCS data) into dest.
void copy_tree(const fs::path& from, const fs::path& dest) {
    fs::create_directories(dest);
    for (auto it = fs::recursive_directory_iterator(from); it != fs::recursive_directory_iterator();
         ++it) {
        fs::path rel = fs::relative(it->path(), from);
        std::string first = rel.begin()->string();
        if (it.depth() == 0 &&
            (first == ".git" || first == "build" || starts_with(first, "build-"))) {
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

struct VariantState {
    std::string variant;
    fs::path dir;
    std::map<std::string, bool> binary_ok;  // binary -> built
    bool any_ok = false;
};

std::string plain_status(const RunVerdict& run) {
    if (!run.reason.empty()) {
        return run.reason;
    }
    if (run.status == RunStatus::timeout) {
        return "timed out";
    }
    if (run.status == RunStatus::crash) {
        return "crashed (signal " + std::to_string(run.signal) + ")";
    }
    if (run.status == RunStatus::sanitizer) {
        return "a sanitizer reported an error";
    }
    if (run.status == RunStatus::no_record || run.status == RunStatus::bad_record) {
        return "the test binary did not finish normally (no verified completion record)";
    }
    return "a test failed (exit status " + std::to_string(run.exit_code) + ")";
}

// The student file a failure points at: a student path named in the log, else the bug zoo's
// mapping.
std::vector<std::string> files_for_item(const Manifest& m, const Item& item,
                                        const std::string& log_text) {
    std::vector<std::string> out;
    for (const auto& s : m.student) {
        std::string file = fs::path(s).filename().string();
        if (log_text.find(file) != std::string::npos) {
            out.push_back(s);
        }
    }
    if (out.empty()) {
        for (const auto& b : m.bugs) {
            if (std::find(b.items.begin(), b.items.end(), item.name) != b.items.end()) {
                std::string p = m.dir + "/src/" + b.file;
                if (std::find(out.begin(), out.end(), p) == out.end()) {
                    out.push_back(p);
                }
            }
        }
    }
    return out;
}

std::string load_calibration(const fs::path& tree, const std::string& lesson) {
    bool ok = false;
    std::string text = read_file_or_empty(tree / "lessons" / lesson / "calibration.json", &ok);
    return ok ? text : std::string();
}

// Build, run and collect for one grading (or calibration) pass over the configured variants.
struct Runner {
    const Options& opt;
    Progress& progress;
    fs::path src;
    fs::path out;
    Manifest manifest;
    std::vector<VariantState> states;
    Timings timings;
    std::vector<Finding> compile_errors;
    std::mutex mutex;  // guards compile_errors while the variants build side by side

    // Builds every variant at once: the cores stay busy while one build links or compiles a big
    // file.
    void build_all() {
        auto t0 = Clock::now();
        progress.start("build");
        std::vector<std::thread> threads;
        for (auto& st : states) {
            threads.emplace_back([this, &st] { build(st); });
        }
        for (auto& t : threads) {
            t.join();
        }
        timings.build = since(t0);
        // Keep the order of compile errors stable whatever build finished first.
        sort_findings(compile_errors);
        std::stable_sort(compile_errors.begin(), compile_errors.end(),
                         [](const Finding& a, const Finding& b) {
                             return (a.owner == Owner::student) > (b.owner == Owner::student);
                         });
    }

    bool selected(const Item& item) const {
        return opt.only.empty() ||
               std::find(opt.only.begin(), opt.only.end(), item.name) != opt.only.end();
    }

    std::vector<std::string> binaries_for(const std::string& variant) const {
        std::set<std::string> bins;
        for (const auto& it : manifest.items) {
            if (it.present && selected(it) &&
                std::find(it.variants.begin(), it.variants.end(), variant) != it.variants.end()) {
                bins.insert(it.binary);
            }
        }
        return {bins.begin(), bins.end()};
    }

    void build(VariantState& st) {
        auto t0 = Clock::now();
        std::vector<std::string> bins = binaries_for(st.variant);
        if (bins.empty()) {
            return;
        }
        std::vector<std::string> argv = {"ninja", "-C", st.dir.string(), "-k", "0"};
        if (opt.jobs > 0) {
            argv.push_back("-j" + std::to_string(opt.jobs));
        }
        std::map<std::string, std::string> targets;
        for (const auto& b : bins) {
            targets[b] = ninja_target(st.dir, b);
            argv.push_back(targets[b]);
        }
        ProcessOptions po;
        po.log = out / ("build-" + st.variant + ".log");
        static const std::regex step(R"(^\[(\d+)/(\d+)\] (.*)$)");
        // The C locale keeps compiler messages in ASCII (plain quotes), whatever the grader's
        // locale.
        po.env_set = {{"LC_ALL", "C"}};
        po.on_line = [&](std::string_view line) {
            std::smatch m;
            std::string l(line);
            if (std::regex_match(l, m, step)) {
                progress.update_part(st.variant, std::stoi(m[1]), std::stoi(m[2]));
            }
        };
        ProcessResult r = run_process(argv, po);
        st.any_ok = false;
        for (const auto& b : bins) {
            bool ok = r.ok() || target_up_to_date(st.dir, targets[b]);
            st.binary_ok[b] = ok;
            st.any_ok = st.any_ok || ok;
        }
        if (!r.ok()) {
            SourceMap map{src, st.dir,
                          [&](const std::string& p) { return is_student_path(manifest, p); }};
            auto errs = parse_compile_errors(r.output, map, 5);
            if (errs.empty()) {
                Finding f;
                f.tool = "compile";
                f.kind = "build-error";
                f.owner = Owner::provided;
                f.message = "the build failed: " + first_error_line(r.output) +
                            " (log: " + po.log.string() + ")";
                f.signature = sha256_hex(f.message).substr(0, 16);
                errs.push_back(f);
            }
            std::lock_guard<std::mutex> lock(mutex);
            merge_findings(compile_errors, errs, st.variant);
        }
        double secs = since(t0);
        progress.finish("built " + st.variant + (r.ok() ? "" : " with errors") + " in " +
                        format_seconds(secs));
    }

    // Runs the variant's selected tests under kit-run; env carries the per-run secret and timeouts.
    void run_tests(VariantState& st, const std::map<std::string, std::string>& env) {
        std::vector<std::string> tests;
        int max_repeat = 1;
        for (const auto& it : manifest.items) {
            if (it.present && selected(it) && st.binary_ok[it.binary] &&
                std::find(it.variants.begin(), it.variants.end(), st.variant) !=
                    it.variants.end()) {
                tests.push_back(it.test);
                max_repeat = std::max(max_repeat, it.repeat);
            }
        }
        std::error_code ec;
        fs::remove_all(out / "runs" / st.variant, ec);
        fs::create_directories(out / "runs" / st.variant);
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
                                         opt.kit_run.string(),
                                         "--num-processes",
                                         "2",
                                         "--timeout-multiplier",
                                         std::to_string(max_repeat + 1),
                                         "--quiet"};
        argv.insert(argv.end(), tests.begin(), tests.end());
        ProcessOptions po;
        po.env_set = env;
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
        timings.test += secs;
        progress.finish("ran " + std::to_string(total) + " " + st.variant + " item(s) in " +
                        format_seconds(secs));
        if (r.exit_code == 127 || r.exit_code == 125) {
            throw GradeError("meson test could not run in " + st.dir.string() + ": " +
                             first_error_line(r.output) + " (log: " + po.log.string() + ")");
        }
    }
};

}  // namespace

fs::path default_out(const Options& options) {
    // Bug-zoo grades (kit checks) get their own directory so that they never overwrite a student's
    // reports.
    std::string name = options.lesson + (options.bug.empty() ? "" : "-bug-" + options.bug);
    return fs::absolute(options.root).lexically_normal() / "build" / "grade" / name;
}

double item_score(const ItemResult& item) {
    if (!item.graded) {
        return 0;
    }
    bool any = false;
    for (const auto& o : item.outcomes) {
        if (o.state == "fail" || o.state == "not-built" || o.state == "not-run") {
            return 0;
        }
        any = any || o.state == "pass";
    }
    return any ? item.item.points : 0;
}

std::string derive_timeouts(const std::string& calibration_json, const std::vector<Item>& items,
                            const std::vector<std::string>& variants) {
    json cal = json::object();
    if (!calibration_json.empty()) {
        try {
            cal = json::parse(calibration_json);
        } catch (const json::exception&) {
            cal = json::object();
        }
    }
    TimeoutPolicy policy;
    policy.margin = cal.value("margin", policy.margin);
    policy.floor_seconds = cal.value("floor_seconds", policy.floor_seconds);
    json out = json::object();
    for (const auto& it : items) {
        json per = json::object();
        for (const auto& v : variants) {
            double t = it.timeout;
            if (cal.contains("items") && cal["items"].contains(it.name) &&
                cal["items"][it.name].contains(v)) {
                double measured = cal["items"][it.name][v].value("measured", -1.0);
                if (measured >= 0) {
                    t = std::min(it.timeout,
                                 std::max(policy.floor_seconds, policy.margin * measured));
                }
            }
            per[v] = std::ceil(t * 10) / 10;
        }
        out[it.name] = per;
    }
    return out.dump(2) + "\n";
}

namespace {

struct Prepared {
    fs::path src;
    fs::path overlay_root;  // temp dir to remove, when grading with --pristine
    std::vector<VariantState> states;
    Manifest manifest;
};

fs::path default_kit_run() {
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path("kit-run") : self.parent_path() / "kit-run";
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

// As root, kit-run runs the tests as "nobody" (KIT_RUN_USER). Every directory above the build dirs
// must let that user through; where one does not (a clone under /root, say), the tests run as root
// instead, with a warning, rather than failing every test for a reason that is not the student's.
void check_reachable(const fs::path& build_dir) {
    const char* user = std::getenv("KIT_RUN_USER");
    if (geteuid() != 0 || (user != nullptr && std::string(user) == "root")) {
        return;
    }
    for (fs::path p = fs::absolute(build_dir); !p.empty() && p != p.root_path();
         p = p.parent_path()) {
        std::error_code ec;
        auto st = fs::status(p, ec);
        if (!ec && (st.permissions() & fs::perms::others_exec) == fs::perms::none) {
            std::cerr
                << "kit-grade: warning: tests would run as user "
                << (user != nullptr ? user : "nobody") << ", who cannot enter " << p.string()
                << "; running them as root instead (less isolation). For full isolation: chmod o+x "
                << p.string() << "\n";
            setenv("KIT_RUN_USER", "root", 1);
            return;
        }
    }
}

Prepared prepare(const Options& opt, Progress& progress, Timings& timings, const fs::path& out) {
    Prepared p;
    p.src = opt.root;
    if (!opt.pristine.empty()) {
        std::string tmpl = (fs::temp_directory_path() / "kit-grade-XXXXXX").string();
        if (mkdtemp(tmpl.data()) == nullptr) {
            throw GradeError("cannot create a temporary directory for the overlay tree in " +
                             fs::temp_directory_path().string());
        }
        p.overlay_root = tmpl;
        // kit-run runs tests as an unprivileged user when the grader is root: it must reach the
        // overlay.
        fs::permissions(p.overlay_root, fs::perms::others_exec | fs::perms::group_exec,
                        fs::perm_options::add);
        p.src = p.overlay_root / "src";
        progress.start("copy pristine tree " + opt.pristine.string());
        copy_tree(opt.pristine, p.src);
    }
    auto t0 = Clock::now();
    progress.start("configure " + std::to_string(opt.variants.size()) + " variant(s)");
    // meson setup is mostly single-threaded Python: configure the variants side by side.
    std::vector<std::future<double>> jobs;
    for (const auto& v : opt.variants) {
        VariantState st;
        st.variant = v;
        st.dir = p.src / "build" / build_dir_name(opt.impl, opt.bug, v);
        p.states.push_back(st);
    }
    for (const auto& st : p.states) {
        jobs.push_back(std::async(std::launch::async, [&, st] {
            return configure(p.src, st.dir, opt.lesson, opt.impl, opt.bug, st.variant,
                             out / ("configure-" + st.variant + ".log"));
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
    return p;
}

}  // namespace

GradeResult grade(const Options& options) {
    auto t_start = Clock::now();
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
    check_inputs(opt);
    fs::create_directories(opt.out);

    Progress progress;
    GradeResult result;
    result.lesson = opt.lesson;
    result.impl = opt.impl;
    result.bug = opt.bug;
    result.variants = opt.variants;
    result.tidy_policy =
        "clang-tidy findings and flagged lines are reported, not charged: the score comes from the "
        "tests; "
        "sanitizer reports already fail the run they happen in.";

    Prepared prep = prepare(opt, progress, result.timings, opt.out);
    Runner runner{opt, progress, prep.src, opt.out, prep.manifest, prep.states, {}, {}, {}};
    runner.timings.configure = result.timings.configure;
    const Manifest& m = prep.manifest;
    check_reachable(prep.states.front().dir);
    SourceMap base_map{prep.src, prep.src,
                       [&](const std::string& p) { return is_student_path(m, p); }};

    // Flags: lines in student files that switch checks off (only lines added to the pristine file
    // when given).
    std::vector<Finding> flag_findings;
    for (const auto& rel : compiled_student_files(m)) {
        std::string baseline;
        if (!opt.pristine.empty()) {
            baseline = read_file_or_empty(opt.pristine / rel);
        }
        auto f = scan_flags(read_file_or_empty(prep.src / rel), rel, baseline);
        flag_findings.insert(flag_findings.end(), f.begin(), f.end());
    }

    // clang-tidy runs beside the builds (it needs only compile_commands.json); its results are
    // cached by content.
    fs::path tidy_dir = prep.states.front().dir;
    for (const auto& st : prep.states) {
        if (st.variant == "plain") {
            tidy_dir = st.dir;
        }
    }
    std::future<std::pair<std::vector<Finding>, double>> tidy_job;
    fs::path clang_tidy = find_program("clang-tidy");
    // Bug-zoo grades check scores only: tidy on a known-wrong file would tell nobody anything.
    bool run_tidy = opt.tidy && opt.bug.empty() && !clang_tidy.empty();
    if (opt.tidy && clang_tidy.empty()) {
        result.notes.emplace_back(
            "clang-tidy is not installed: tidy findings were not collected (ci/install-deps)");
    }
    if (run_tidy) {
        tidy_job = std::async(std::launch::async, [&, tidy_dir] {
            auto t0 = Clock::now();
            std::vector<Finding> found;
            std::string tidy_config = read_file_or_empty(prep.src / ".clang-tidy");
            std::string headers;
            for (const char* inc : {"include", "lib"}) {
                fs::path d = prep.src / m.dir / inc;
                if (fs::exists(d)) {
                    for (const auto& e : fs::recursive_directory_iterator(d)) {
                        if (e.is_regular_file()) {
                            headers += read_file_or_empty(e.path());
                        }
                    }
                }
            }
            std::vector<std::string> files = compiled_student_files(m);
            std::vector<std::string> outputs(files.size());
            std::atomic<std::size_t> next{0};
            auto worker = [&] {
                for (std::size_t i = next++; i < files.size(); i = next++) {
                    const std::string& rel = files[i];
                    std::string material = read_file_or_empty(prep.src / rel);
                    material.append("\n--\n").append(tidy_config).append("\n--\n");
                    material.append(sha256_hex(headers)).append("\n--\n").append(rel);
                    std::string key = sha256_hex(material);
                    fs::path cache = prep.src / "build" / "grade-tidy-cache" / (key + ".txt");
                    bool hit = false;
                    outputs[i] = read_file_or_empty(cache, &hit);
                    if (hit) {
                        continue;
                    }
                    ProcessOptions po;
                    po.cwd = prep.src;
                    ProcessResult r =
                        run_process({clang_tidy.string(), "-p", tidy_dir.string(), "--quiet",
                                     "--extra-arg=-Wno-unknown-warning-option", rel},
                                    po);
                    write_file(cache, r.output);
                    outputs[i] = r.output;
                }
            };
            // At most two clang-tidy processes: the machine is building at the same time.
            std::thread second(worker);
            worker();
            second.join();
            std::string all;
            for (const auto& o : outputs) {
                all += o;
            }
            write_file(opt.out / "tidy.log", all);
            SourceMap map{prep.src, prep.src,
                          [&](const std::string& p) { return is_student_path(m, p); }};
            for (auto& f : parse_tidy_output(all, map)) {
                if (f.kind.rfind("clang-diagnostic-error", 0) != 0) {
                    found.push_back(std::move(f));
                }
            }
            return std::make_pair(found, since(t0));
        });
    }

    // Timeouts from the reference solution's calibration (the canonical tree's copy when grading
    // --pristine).
    std::string cal = load_calibration(opt.pristine.empty() ? prep.src : opt.pristine, opt.lesson);
    if (cal.empty()) {
        result.notes.push_back(
            "no lessons/" + opt.lesson +
            "/calibration.json: timeouts are the declared ceilings (regenerate with: ci/grade " +
            opt.lesson + " --calibrate)");
    }
    fs::path timeouts = opt.out / "timeouts.json";
    write_file(timeouts, derive_timeouts(cal, m.items, opt.variants));

    std::string secret = random_hex(32);
    std::map<std::string, std::string> env = {{"KIT_OUT", (opt.out / "runs").string()},
                                              {"KIT_RUN_SECRET", secret},
                                              {"KIT_TIMEOUTS", timeouts.string()}};
    runner.build_all();
    for (auto& st : runner.states) {
        runner.run_tests(st, env);
    }
    result.compile_errors = runner.compile_errors;

    // Collect: verdicts -> outcomes, sanitizer logs -> findings.
    std::vector<Finding> findings;
    for (const auto& item : m.items) {
        ItemResult ir;
        ir.item = item;
        ir.graded = item.present && runner.selected(item);
        std::string logs_seen;
        for (const auto& st : runner.states) {
            VariantOutcome o;
            o.variant = st.variant;
            o.repeat = item.repeat;
            bool required = std::find(item.variants.begin(), item.variants.end(), st.variant) !=
                            item.variants.end();
            if (!required) {
                o.state = "not-required";
            } else if (!ir.graded) {
                o.state = "not-run";
            } else if (!st.binary_ok.count(item.binary) || !st.binary_ok.at(item.binary)) {
                o.state = "not-built";
                o.reason = "did not compile";
            } else {
                VerdictLoad vl =
                    load_verdict(opt.out / "runs" / st.variant / (item.name + ".json"), secret);
                if (vl.state != VerdictState::verified) {
                    o.state = "fail";
                    std::string meson_result;
                    auto mr = meson_results(st.dir);
                    if (mr.count(item.test) != 0) {
                        meson_result = mr[item.test];
                    }
                    o.reason =
                        (vl.state == VerdictState::missing
                             ? "no verdict from kit-run (the test did not finish under the grader" +
                                   (meson_result.empty() ? std::string(")")
                                                         : "; meson says " + meson_result + ")")
                             : "verdict rejected: " + vl.detail);
                } else {
                    const Verdict& v = vl.verdict;
                    int passed = 0;
                    for (const auto& run : v.runs) {
                        passed += run.status == RunStatus::pass ? 1 : 0;
                    }
                    o.passed_runs = passed;
                    o.repeat = std::max(item.repeat, static_cast<int>(v.runs.size()));
                    bool ok = v.item == item.name && v.variant == st.variant &&
                              verdict_passes(v, item.repeat);
                    o.state = ok ? "pass" : "fail";
                    if (!ok) {
                        o.reproduce = v.reproduce;
                        for (const auto& run : v.runs) {
                            if (run.status != RunStatus::pass) {
                                o.reason = plain_status(run);
                                if (item.repeat > 1) {
                                    o.reason = std::to_string(passed) + "/" +
                                               std::to_string(v.runs.size()) +
                                               " runs passed; run " + std::to_string(run.index) +
                                               ": " + o.reason;
                                }
                                o.excerpt = log_excerpt(run.log);
                                o.hang = run.hang ? run.hang->kind : "";
                                logs_seen += read_file_or_empty(run.log);
                                break;
                            }
                        }
                        if (o.reason.empty()) {
                            o.reason = v.item != item.name || v.variant != st.variant
                                           ? "verdict belongs to another item or variant"
                                           : "fewer runs than the declared repeat";
                        }
                    }
                    SourceMap map{prep.src, st.dir,
                                  [&](const std::string& p) { return is_student_path(m, p); }};
                    for (const auto& run : v.runs) {
                        for (const auto& log : run.sanitizer_logs) {
                            merge_findings(findings,
                                           parse_sanitizer_log(read_file_or_empty(log), map),
                                           st.variant + "/" + item.name);
                        }
                    }
                }
            }
            ir.outcomes.push_back(o);
        }
        ir.score = item_score(ir);
        ir.passed = ir.graded && ir.score >= item.points &&
                    std::any_of(ir.outcomes.begin(), ir.outcomes.end(),
                                [](const VariantOutcome& o) { return o.state == "pass"; });
        if (ir.graded && !ir.passed) {
            ir.student_files = files_for_item(m, item, logs_seen);
        }
        if (ir.graded) {
            result.max_score += item.points;
            result.score += ir.score;
        }
        result.items.push_back(std::move(ir));
    }

    if (run_tidy) {
        auto [tidy_findings, secs] = tidy_job.get();
        result.timings.tidy = secs;
        result.tidy_ran = true;
        merge_findings(findings, tidy_findings, "tidy");
    }
    merge_findings(findings, flag_findings, "source");
    sort_findings(findings);
    result.findings = findings;
    for (const auto& st : runner.states) {
        result.built[st.variant] = st.any_ok;
    }

    // Notes and where to start.
    std::size_t absent = 0;
    for (const auto& it : result.items) {
        absent += it.item.present ? 0 : 1;
    }
    if (absent > 0) {
        result.notes.push_back(
            std::to_string(absent) +
            " hidden item(s) are not in this tree and were not graded; the grade of record "
            "includes them");
    }
    if (!opt.only.empty()) {
        result.notes.emplace_back("only a subset of items was graded (--only)");
    }
    if (!opt.pristine.empty()) {
        result.notes.push_back("graded with --pristine " + opt.pristine.string() +
                               ": only student-owned files were taken from " + opt.root.string());
    }
    for (const auto& f : result.compile_errors) {
        if (f.owner == Owner::student) {
            result.start_here = "Start here: fix the compile error at " + f.file + ":" +
                                std::to_string(f.line) + " (" + f.message + ")";
            break;
        }
    }
    if (result.start_here.empty()) {
        for (const auto& it : result.items) {
            if (it.graded && !it.passed) {
                std::string reason;
                for (const auto& o : it.outcomes) {
                    if (o.state == "fail" || o.state == "not-built") {
                        reason = o.reason;
                        break;
                    }
                }
                std::string excerpt;
                for (const auto& o : it.outcomes) {
                    if (o.state == "fail" && !o.excerpt.empty()) {
                        excerpt = o.excerpt;
                        break;
                    }
                }
                result.start_here = "Start here: task " + it.item.task + ", item " + it.item.name;
                if (!it.student_files.empty()) {
                    result.start_here += " in " + it.student_files.front();
                }
                result.start_here += ": " + first_message(excerpt, reason);
                break;
            }
        }
    }
    std::string cmd = "ci/grade " + opt.lesson;
    if (opt.impl != "starter") {
        cmd += " --impl " + opt.impl;
    }
    result.reproduce_all = cmd;
    if (!prep.overlay_root.empty() && !opt.keep_overlay) {
        std::error_code ec;
        fs::remove_all(prep.overlay_root, ec);
    }
    result.timings.build = runner.timings.build;
    result.timings.test = runner.timings.test;
    result.timings.total = since(t_start);
    return result;
}

fs::path calibrate(const Options& options) {
    Options opt = options;
    opt.impl = "solution";
    opt.bug.clear();
    opt.pristine.clear();
    opt.only.clear();
    if (opt.kit_run.empty()) {
        opt.kit_run = default_kit_run();
    }
    opt.root = fs::absolute(opt.root).lexically_normal();
    if (opt.out.empty()) {
        opt.out = opt.root / "build" / "grade" / (opt.lesson + "-calibrate");
    }
    opt.out = fs::absolute(opt.out).lexically_normal();
    check_inputs(opt);
    fs::create_directories(opt.out);
    Progress progress;
    Timings timings;
    Prepared prep = prepare(opt, progress, timings, opt.out);
    Runner runner{opt, progress, prep.src, opt.out, prep.manifest, prep.states, {}, {}, {}};
    runner.build_all();
    for (auto& st : runner.states) {
        for (const auto& [bin, ok] : st.binary_ok) {
            if (!ok) {
                throw GradeError("the reference solution does not build in " + st.variant + " (" +
                                 bin + "); see " +
                                 (opt.out / ("build-" + st.variant + ".log")).string());
            }
        }
    }
    std::map<std::string, std::map<std::string, double>> measured;
    for (int pass = 0; pass < std::max(1, opt.calibrate_runs); ++pass) {
        std::string secret = random_hex(32);
        std::map<std::string, std::string> env = {{"KIT_OUT", (opt.out / "runs").string()},
                                                  {"KIT_RUN_SECRET", secret}};
        for (auto& st : runner.states) {
            runner.run_tests(st, env);
            for (const auto& item : prep.manifest.items) {
                if (!item.present || std::find(item.variants.begin(), item.variants.end(),
                                               st.variant) == item.variants.end()) {
                    continue;
                }
                VerdictLoad vl =
                    load_verdict(opt.out / "runs" / st.variant / (item.name + ".json"), secret);
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
            double t = std::min(item.timeout, std::max(policy.floor_seconds, policy.margin * secs));
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
