// kit-run: the grader's test wrapper; runs one graded item with limits and writes its signed
// verdict.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "common/hmac.hpp"
#include "common/json_io.hpp"
#include "common/verdict.hpp"
#include "run/child.hpp"
#include "run/config.hpp"
#include "run/record.hpp"
#include "run/runner.hpp"
#include "run/verdict.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

namespace {

// A fresh directory for one run's sanitizer logs, writable by the user the test runs as.
std::filesystem::path make_sanitizer_dir(const std::filesystem::path& base,
                                         const kit::Config& config) {
    std::error_code ec;
    std::filesystem::remove_all(base, ec);
    std::filesystem::create_directories(base);
    if (config.drop_privileges && ::chown(base.c_str(), config.run_uid, config.run_gid) != 0) {
        throw std::runtime_error("cannot hand " + base.string() + " to user " + config.run_user);
    }
    return base;
}

// /proc/PID/environ shows the live bytes of the initial environment, so overwrite the secret's
// value there: a test running as kit-run's own user (non-root grading) cannot read it from us.
// Meson, our parent, still holds it: that is an honest limit of non-root grading.
void scrub_secret_from_environ() {
    static constexpr std::string_view name = "KIT_RUN_SECRET=";
    for (char** entry = environ; *entry != nullptr; ++entry) {
        if (std::string_view(*entry).rfind(name, 0) == 0) {
            for (char* c = *entry + name.size(); *c != '\0'; ++c) {
                *c = 'x';
            }
        }
    }
}

int run_item(const kit::Config& config) {
    kit::Runner runner(config);
    std::optional<std::filesystem::path> dir;
    if (config.out_dir) {
        dir = *config.out_dir / (config.variant.empty() ? "default" : config.variant);
        std::filesystem::create_directories(*dir);
    }
    const std::string label = (config.lesson.empty() ? "" : config.lesson + ".") + config.item +
                              (config.variant.empty() ? "" : " [" + config.variant + "]");
    kit::Verdict verdict;
    verdict.item = config.item;
    verdict.lesson = config.lesson;
    verdict.variant = config.variant;
    verdict.repeat = config.repeat;
    verdict.timeout = config.timeout_seconds;
    const uid_t test_user = config.drop_privileges ? config.run_uid : ::geteuid();
    int passed = 0;
    for (int index = 0; index < config.repeat && !runner.interrupted(); ++index) {
        kit::RunPaths paths;
        std::string sanitizer_dir;
        if (dir) {
            const std::string stem = config.item + "." + std::to_string(index);
            paths.log = *dir / (stem + ".log");
            paths.backtrace = *dir / (stem + ".bt");
            std::error_code ec;
            std::filesystem::remove(*paths.backtrace, ec);
            paths.sanitizer_dir = make_sanitizer_dir(*dir / (stem + ".san"), config);
            sanitizer_dir = paths.sanitizer_dir->string();
        }
        const std::string key = kit::random_hex(32);
        const auto env = kit::child_environment(environ, sanitizer_dir, config);
        const kit::RawRun raw = runner.run(env, key, paths);
        const auto record = kit::check_record(
            raw.record, key, kit::RecordExpectation{config.gtest_filter, config.gtest_repeat});
        const auto sanitizers = paths.sanitizer_dir
                                    ? kit::scan_sanitizer_logs(*paths.sanitizer_dir, test_user)
                                    : kit::SanitizerScan{};
        auto run = kit::judge_run(index, raw, record, sanitizers, paths, config);
        std::error_code ec;
        if (!raw.hang && paths.backtrace) {
            std::filesystem::remove(*paths.backtrace, ec);
        }
        if (paths.sanitizer_dir && sanitizers.logs.empty()) {
            std::filesystem::remove(*paths.sanitizer_dir, ec);  // only removes an empty directory
        }
        const kit::RunStatus status = run.status;
        passed += status == kit::RunStatus::pass ? 1 : 0;
        std::ostringstream line;
        line.precision(3);
        line << "kit-run: " << label << " run " << index + 1 << "/" << config.repeat << ": "
             << kit::to_string(status) << " (" << run.seconds << " s) " << run.reason;
        for (const auto& note : run.notes) {
            line << "; " << note;
        }
        std::cout << line.str() << std::endl;
        verdict.runs.push_back(std::move(run));
        if (status == kit::RunStatus::timeout || status == kit::RunStatus::not_started) {
            break;  // another run would most likely hang as long again, or not start either
        }
    }
    if (dir) {
        verdict.passed_runs = passed;
        verdict.reproduce = kit::valid_utf8(kit::reproduce_command(environ, config));
        nlohmann::json signed_verdict = kit::to_json(verdict);
        kit::sign_verdict(signed_verdict, config.secret);
        kit::write_file_atomic(*dir / (config.item + ".json"), signed_verdict.dump(2) + "\n");
    }
    return passed == config.repeat ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (kit::is_exec_child(argc, argv)) {
        return kit::exec_child_main(argc, argv);  // between spawn and the test's exec
    }
    if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
        std::cout << kit::usage_text();
        return 0;
    }
    try {
        const kit::Config config = kit::load_config(argc, argv);
        scrub_secret_from_environ();
        return run_item(config);
    } catch (const std::exception& e) {
        std::cerr << "kit-run: " << e.what() << "\n";
        return 2;
    }
}
