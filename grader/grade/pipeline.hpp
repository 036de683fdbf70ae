// What kit-grade's phases hand each other: the prepared tree, the build directories, the findings
// so far. Each phase is a file of its own (prepare, build, run, collect, score, tidy, summary,
// calibrate, progress); grade.cpp calls them in order.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "findings.hpp"
#include "grade.hpp"
#include "manifest.hpp"
#include "progress.hpp"
#include "result.hpp"
#include "test_user.hpp"

namespace kit::grade {

using Clock = std::chrono::steady_clock;

// Seconds since t.
double since(Clock::time_point t);

// The first line of a tool's output that says "error", else its last line.
std::string first_error_line(const std::string& text);

// A temporary directory removed on every path out of the grading (RAII), unless kept.
class TempTree {
  public:
    TempTree() = default;
    // Creates <tmp>/<prefix>XXXXXX; throws GradeError when it cannot.
    static TempTree create(const std::string& prefix);
    ~TempTree();
    TempTree(const TempTree&) = delete;
    TempTree& operator=(const TempTree&) = delete;
    TempTree(TempTree&& other) noexcept;
    TempTree& operator=(TempTree&& other) noexcept;
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    void keep() { keep_ = true; }

  private:
    std::filesystem::path path_;
    bool keep_ = false;
};

// One build directory (one variant) and what it built.
struct VariantState {
    std::string variant;
    std::filesystem::path dir;
    std::map<std::string, bool> binary_ok;  // binary -> built
    bool any_ok = false;
};

// The tree being graded, configured: the output of prepare.
struct Prepared {
    std::filesystem::path src;  // the tree that is built (the overlay with --pristine)
    TempTree overlay;           // the overlay's temporary tree, removed with this object
    std::vector<VariantState> states;
    Manifest manifest;
    // item -> the cases its filter selects in src's test sources (grade/cases.hpp)
    std::map<std::string, std::vector<std::string>> cases;
};

// The state one grading (or calibration) pass carries from phase to phase.
struct Pass {
    const Options& opt;
    Progress& progress;
    Prepared& prep;
    Timings timings;
    std::vector<Finding> compile_errors;
    std::mutex mutex;  // guards compile_errors while the variants build side by side

    [[nodiscard]] bool selected(const Item& item) const;
    [[nodiscard]] bool required(const Item& item, const std::string& variant) const;
    [[nodiscard]] SourceMap source_map(const std::filesystem::path& base) const;
};

// How kit-run is told where to write and what to allow: on its command line (meson test --wrapper),
// except the secret, which a command line would show to every user of the machine.
struct RunSettings {
    std::filesystem::path runs_dir;  // kit-run --out: <out>/runs
    std::filesystem::path timeouts;  // kit-run --timeouts ("" for none: the declared ceilings)
    std::string run_user;            // kit-run --run-user ("" for kit-run's default)
    std::string secret;              // KIT_RUN_SECRET in meson test's environment
    unsigned test_uid = 0;           // the user the tests run as: only its files are read back
    std::shared_ptr<const TestUserLease> lease;  // this grading's own test user (as root)
};

}  // namespace kit::grade
