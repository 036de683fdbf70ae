// Beside the build: clang-tidy on the student files, and flagged source lines.
#include "tidy.hpp"

#include <atomic>
#include <thread>

#include "common/hmac.hpp"
#include "process.hpp"
#include "util.hpp"

namespace kit::grade {

namespace fs = std::filesystem;

std::vector<Finding> scan_student_flags(const Options& opt, const Prepared& prep) {
    const Manifest& m = prep.manifest;
    std::vector<Finding> flag_findings;
    for (const auto& rel : compiled_student_files(m)) {
        std::string baseline;
        if (!opt.pristine.empty()) {
            baseline = read_file_or_empty(opt.pristine / rel);
        }
        auto f = scan_flags(read_file_or_empty(prep.src / rel), rel, baseline);
        flag_findings.insert(flag_findings.end(), f.begin(), f.end());
    }
    return flag_findings;
}

TidyJob start_tidy(const Options& opt, const Prepared& prep, std::vector<std::string>& notes) {
    fs::path tidy_dir = prep.states.front().dir;
    for (const auto& st : prep.states) {
        if (st.variant == "plain") {
            tidy_dir = st.dir;
        }
    }
    TidyJob job;
    // The kit pins clang-tidy 19 (ci/install-deps); an unversioned clang-tidy is the fallback, so
    // the verdict is the same whether kit-grade is called through ci/grade or directly.
    fs::path clang_tidy = find_program("clang-tidy-19");
    if (clang_tidy.empty()) {
        clang_tidy = find_program("clang-tidy");
    }
    // Bug-zoo grades check scores only: tidy on a known-wrong file would tell nobody anything.
    const bool run_tidy = opt.tidy && opt.bug.empty() && !clang_tidy.empty();
    if (opt.tidy && clang_tidy.empty()) {
        notes.emplace_back(
            "clang-tidy is not installed: tidy findings were not collected (ci/install-deps)");
    }
    if (run_tidy) {
        job.future = std::async(std::launch::async, [&opt, &prep, clang_tidy, tidy_dir] {
            const Manifest& m = prep.manifest;
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
    return job;
}

}  // namespace kit::grade
