// Phase 2, build: ninja on the selected test binaries of every variant, side by side.
#include "build.hpp"

#include <algorithm>
#include <regex>
#include <set>
#include <thread>

#include "build_limits.hpp"
#include "common/hmac.hpp"
#include "process.hpp"
#include "util.hpp"

namespace kit::grade {

namespace fs = std::filesystem;

namespace {

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

std::vector<std::string> binaries_for(const Pass& pass, const std::string& variant) {
    std::set<std::string> bins;
    for (const auto& it : pass.prep.manifest.items) {
        if (it.present && pass.selected(it) && pass.required(it, variant)) {
            bins.insert(it.binary);
        }
    }
    return {bins.begin(), bins.end()};
}

void build(Pass& pass, VariantState& st) {
    const Options& opt = pass.opt;
    Progress& progress = pass.progress;
    const fs::path& out = opt.out;

    auto t0 = Clock::now();
    std::vector<std::string> bins = binaries_for(pass, st.variant);
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
    set_build_limits(opt, po);
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
        const SourceMap map = pass.source_map(st.dir);
        auto errs = build_limit_findings(r, opt, map, st.variant);
        for (auto& e : parse_compile_errors(r.output, map, 5)) {
            errs.push_back(std::move(e));
        }
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
        std::lock_guard<std::mutex> lock(pass.mutex);
        merge_findings(pass.compile_errors, errs, st.variant);
    }
    double secs = since(t0);
    progress.finish("built " + st.variant + (r.ok() ? "" : " with errors") + " in " +
                    format_seconds(secs));
}

}  // namespace

// Builds every variant at once: the cores stay busy while one build links or compiles a big
// file.
void build_all(Pass& pass) {
    Progress& progress = pass.progress;

    auto t0 = Clock::now();
    progress.start("build");
    std::vector<std::thread> threads;
    for (auto& st : pass.prep.states) {
        threads.emplace_back([&pass, &st] { build(pass, st); });
    }
    for (auto& t : threads) {
        t.join();
    }
    pass.timings.build = since(t0);
    // Keep the order of compile errors stable whatever build finished first.
    sort_findings(pass.compile_errors);
    std::stable_sort(pass.compile_errors.begin(), pass.compile_errors.end(),
                     [](const Finding& a, const Finding& b) {
                         return (a.owner == Owner::student) > (b.owner == Owner::student);
                     });
}

}  // namespace kit::grade
