// Tests of kit-run on real processes: a fixture test binary that passes, fails, exits early, hangs,
// forks, floods.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/json_io.hpp"
#include "common/verdict.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

namespace {

namespace fs = std::filesystem;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool address_sanitizer = true;
#else
constexpr bool address_sanitizer = false;
#endif

const std::string secret(64, '7');
std::atomic<pid_t> last_kit_run{0};  // the pid of the kit-run that run_kit() started last

std::string required_env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr) {
        ADD_FAILURE() << name << " is not set; run these tests through meson test";
        return {};
    }
    return value;
}

struct KitRun {
    int exit_status = -1;
    nlohmann::json verdict;  // null when kit-run wrote none
    std::string output;      // kit-run's own stdout and stderr
    double seconds = 0;
};

// "KIT_PROCESS_TEST_TAG=<pid>-<n>": the environment entry that marks the processes of one
// run_kit().
std::string last_tag;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables): test state

// Runs kit-run on the fixture (with `args`) with KIT_OUT in a fresh directory and `extra` env.
KitRun run_kit(const std::string& mode, const std::map<std::string, std::string>& extra = {},
               const std::vector<std::string>& args = {"--gtest_filter=Fixture.*"}) {
    static int counter = 0;
    const fs::path out = fs::temp_directory_path() / ("kit-run-test-" + std::to_string(::getpid()) +
                                                      "-" + std::to_string(counter++));
    fs::remove_all(out);
    fs::create_directories(out);
    last_tag = "KIT_PROCESS_TEST_TAG=" + std::to_string(::getpid()) + "-" + std::to_string(counter);
    std::map<std::string, std::string> env = {
        {"KIT_PROCESS_TEST_TAG", last_tag.substr(last_tag.find('=') + 1)},
        {"KIT_OUT", out.string()},
        {"KIT_RUN_SECRET", secret},
        {"KIT_ITEM", "item"},
        {"KIT_LESSON", "fixture"},
        {"KIT_VARIANT", "plain"},
        {"KIT_TIMEOUT", "20"},
        {"FIXTURE_MODE", mode},
        {"GITHUB_TOKEN", "do-not-leak"},
    };
    for (const auto& [name, value] : extra) {
        env[name] = value;
    }
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string text(*entry);
        env.emplace(text.substr(0, text.find('=')), text.substr(text.find('=') + 1));
    }
    std::vector<std::string> env_strings;
    env_strings.reserve(env.size());
    for (const auto& [name, value] : env) {
        env_strings.push_back(name);
        env_strings.back().append("=").append(value);
    }
    std::vector<std::string> argv_strings = {required_env("KIT_RUN_BIN")};
    argv_strings.push_back(required_env("KIT_RUN_FIXTURE"));
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    argv.reserve(argv_strings.size() + 1);
    for (auto& arg : argv_strings) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(env_strings.size() + 1);
    for (auto& entry : env_strings) {
        envp.push_back(entry.data());
    }
    envp.push_back(nullptr);

    const fs::path log = out / "kit-run.out";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const auto start = std::chrono::steady_clock::now();
    pid_t pid = 0;
    KitRun result;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    last_kit_run = pid;
    if (rc != 0) {
        ADD_FAILURE() << "could not start kit-run: " << std::strerror(rc);
        return result;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ifstream in(log);
    result.output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    std::string error;
    if (auto verdict = kit::read_json_file(out / env["KIT_VARIANT"] / "item.json", error)) {
        result.verdict = *verdict;
        EXPECT_TRUE(kit::verify_verdict(result.verdict, secret))
            << "hint: the verdict's HMAC is wrong";
    }
    return result;
}

std::string status_of(const KitRun& run, int index = 0) {
    if (!run.verdict.is_object() || run.verdict["runs"].size() <= static_cast<std::size_t>(index)) {
        return "(no verdict) " + run.output;
    }
    return run.verdict["runs"][index]["status"].get<std::string>();
}

std::string reason_of(const KitRun& run) {
    return run.verdict.is_object() && !run.verdict["runs"].empty()
               ? run.verdict["runs"][0]["reason"].get<std::string>()
               : run.output;
}

// A KIT_TIMEOUTS file giving `item` a short timeout (kit-run keeps KIT_TIMEOUT=20 as the ceiling).
std::map<std::string, std::string> short_timeout(double seconds) {
    const fs::path file =
        fs::temp_directory_path() / ("kit-run-timeouts-" + std::to_string(::getpid()) + ".json");
    std::ofstream(file) << R"({"item": {"plain": )" << seconds << "}}";
    return {{"KIT_TIMEOUTS", file.string()}};
}

// No process of the last run_kit() may outlive its kit-run. Only the processes that run started
// count: they carry its tag in their environment (inherited by every descendant, setsid() daemons
// too), so another grading's fixtures or kit-runs on the same machine never do.
int fixture_processes_alive() {
    int count = 0;
    std::error_code ec;
    for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
        std::ifstream environ_file(it->path() / "environ", std::ios::binary);
        const std::string vars((std::istreambuf_iterator<char>(environ_file)),
                               std::istreambuf_iterator<char>());
        if (vars.find('\0' + last_tag + '\0') == std::string::npos &&
            vars.rfind(last_tag + '\0', 0) != 0) {
            continue;
        }
        std::ifstream stat(it->path() / "stat");
        std::string stat_line;
        std::getline(stat, stat_line);
        if (stat_line.find(") Z") == std::string::npos) {
            ++count;
        }
    }
    return count;
}

TEST(KitRun, ProcessCountSeesOnlyTaggedProcesses) {
    // The control for fixture_processes_alive(): a tagged process counts, an untagged one does not.
    last_tag = "KIT_PROCESS_TEST_TAG=control-" + std::to_string(::getpid());
    std::string tagged_entry = last_tag;
    std::array<char*, 2> tagged_env{tagged_entry.data(), nullptr};
    std::array<char*, 1> no_env{nullptr};
    std::string sleep_path = "/bin/sleep";
    std::string seconds_arg = "30";
    std::array<char*, 3> argv{sleep_path.data(), seconds_arg.data(), nullptr};
    pid_t tagged = 0;
    pid_t untagged = 0;
    ASSERT_EQ(posix_spawn(&tagged, argv[0], nullptr, nullptr, argv.data(), tagged_env.data()), 0);
    ASSERT_EQ(posix_spawn(&untagged, argv[0], nullptr, nullptr, argv.data(), no_env.data()), 0);
    EXPECT_EQ(fixture_processes_alive(), 1);
    ::kill(tagged, SIGKILL);
    ::kill(untagged, SIGKILL);
    ::waitpid(tagged, nullptr, 0);
    ::waitpid(untagged, nullptr, 0);
    EXPECT_EQ(fixture_processes_alive(), 0);
}

TEST(KitRun, PassingTestBinaryPasses) {
    const auto run = run_kit("");
    EXPECT_EQ(run.exit_status, 0) << run.output;
    EXPECT_EQ(status_of(run), "pass") << reason_of(run);
    EXPECT_EQ(run.verdict["runs"][0]["cases_passed"].size(), 3U);
    EXPECT_EQ(run.verdict["passed_runs"], 1);
}

TEST(KitRun, RepeatRunsEveryTime) {
    const auto run = run_kit("", {{"KIT_REPEAT", "3"}});
    EXPECT_EQ(run.exit_status, 0) << run.output;
    EXPECT_EQ(run.verdict["runs"].size(), 3U);
    EXPECT_EQ(run.verdict["passed_runs"], 3);
}

TEST(KitRun, FailingCaseFails) {
    const auto run = run_kit("fail");
    EXPECT_EQ(run.exit_status, 1);
    EXPECT_EQ(status_of(run), "fail");
    EXPECT_EQ(run.verdict["runs"][0]["cases_failed"], nlohmann::json::array({"Fixture.Second"}));
}

TEST(KitRun, EarlyExitsHaveNoRecord) {
    for (const char* mode : {"exit0", "_exit0", "quick_exit", "fake_pass"}) {
        const auto run = run_kit(mode);
        EXPECT_EQ(run.exit_status, 1) << mode;
        EXPECT_EQ(status_of(run), "no_record") << mode << ": " << reason_of(run);
        EXPECT_NE(reason_of(run).find("Fixture.Second"), std::string::npos)
            << "hint: the reason should name the case that was running: " << reason_of(run);
    }
}

TEST(KitRun, ExitInStaticInitialiserHasNoRecord) {
    const auto run = run_kit("static_exit");
    EXPECT_EQ(status_of(run), "no_record") << reason_of(run);
    EXPECT_NE(reason_of(run).find("static initialiser"), std::string::npos) << reason_of(run);
}

TEST(KitRun, ForgedRecordLineIsABadRecord) {
    const auto run = run_kit("forge");
    EXPECT_EQ(status_of(run), "bad_record") << reason_of(run);
}

TEST(KitRun, ProgramWithoutTestMainHasNoRecord) {
    const auto run = run_kit("", {}, {});
    EXPECT_EQ(status_of(run), "pass") << "hint: the fixture without a filter runs '*'";
    // /bin/true exits 0 without any record.
    KitRun plain;
    {
        const fs::path out =
            fs::temp_directory_path() / ("kit-run-true-" + std::to_string(::getpid()));
        const std::string command = "KIT_OUT=" + out.string() +
                                    " KIT_ITEM=item KIT_VARIANT=plain " +
                                    required_env("KIT_RUN_BIN") + " /bin/true >/dev/null 2>&1";
        // A fixed command built from the test's own paths.
        plain.exit_status = WEXITSTATUS(std::system(command.c_str()));  // NOLINT(cert-env33-c)
        std::string error;
        plain.verdict = kit::read_json_file(out / "plain" / "item.json", error).value_or(nullptr);
    }
    EXPECT_EQ(plain.exit_status, 1);
    EXPECT_EQ(status_of(plain), "no_record");
}

TEST(KitRun, CrashIsReportedWithTheCase) {
    const auto run = run_kit("segv");
    // AddressSanitizer catches the signal itself and reports it.
    EXPECT_EQ(status_of(run), address_sanitizer ? "sanitizer" : "crash");
    EXPECT_NE(reason_of(run).find("SEGV"), std::string::npos) << reason_of(run);
    EXPECT_NE(reason_of(run).find("Fixture.Second"), std::string::npos) << reason_of(run);
}

TEST(KitRun, DeadlockIsClassifiedAndBacktraced) {
    const auto run = run_kit("hang_deadlock", short_timeout(2));
    EXPECT_EQ(status_of(run), "timeout");
    EXPECT_EQ(run.verdict["runs"][0]["hang"]["kind"], "deadlock") << reason_of(run);
    const std::string trace = run.verdict["runs"][0]["hang"]["backtrace"].get<std::string>();
    std::ifstream in(trace);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("futex"), std::string::npos) << text;
    EXPECT_NE(text.find("Thread 2"), std::string::npos) << "hint: gdb's backtrace is missing:\n"
                                                        << text;
    EXPECT_LT(run.seconds, 40);
    EXPECT_EQ(fixture_processes_alive(), 0);
}

TEST(KitRun, BusyLoopIsClassifiedBusy) {
    const auto run = run_kit("hang_busy", short_timeout(2));
    EXPECT_EQ(status_of(run), "timeout");
    EXPECT_EQ(run.verdict["runs"][0]["hang"]["kind"], "busy") << reason_of(run);
    EXPECT_EQ(fixture_processes_alive(), 0);
}

TEST(KitRun, TimeoutsFileOverridesTheDefault) {
    const auto run = run_kit("hang_busy", short_timeout(1.5));
    EXPECT_EQ(status_of(run), "timeout");
    EXPECT_DOUBLE_EQ(run.verdict["timeout"].get<double>(), 1.5);
}

TEST(KitRun, TimeoutLeavesRoomInsideMesonsCeiling) {
    // KIT_TIMEOUT is meson's timeout for the whole wrapper: kit-run stops the test earlier.
    const auto run = run_kit("hang_busy", {{"KIT_TIMEOUT", "4"}});
    EXPECT_EQ(status_of(run), "timeout");
    EXPECT_DOUBLE_EQ(run.verdict["timeout"].get<double>(), 3.0);
    EXPECT_LT(run.seconds, 4.0) << "hint: kit-run must finish before meson kills it";
}

TEST(KitRun, SigtermStillWritesAVerdict) {
    // meson test sends SIGTERM to the wrapper's group on its own timeout, then SIGKILL 0.5 s later.
    KitRun run;
    last_kit_run = 0;
    std::thread killer([] {
        pid_t pid = 0;
        while ((pid = last_kit_run.load()) == 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        ::kill(pid, SIGTERM);  // the kit-run this test started, by its pid
    });
    run = run_kit("hang_busy");
    killer.join();
    EXPECT_EQ(status_of(run), "timeout");
    EXPECT_NE(reason_of(run).find("SIGTERM"), std::string::npos) << reason_of(run);
    EXPECT_EQ(fixture_processes_alive(), 0);
}

TEST(KitRun, EscapedDaemonIsKilledAndNoted) {
    const auto run = run_kit("leftover");
    EXPECT_EQ(status_of(run), "pass") << reason_of(run);
    EXPECT_FALSE(run.verdict["runs"][0]["notes"].empty());
    EXPECT_EQ(fixture_processes_alive(), 0) << "hint: a setsid() daemon outlived kit-run";
}

TEST(KitRun, FloodIsCappedAndNoted) {
    const auto run = run_kit("flood", {{"KIT_OUTPUT_CAP", "100000"}});
    EXPECT_EQ(status_of(run), "pass") << reason_of(run);
    const auto log = run.verdict["runs"][0]["log"].get<std::string>();
    EXPECT_LT(fs::file_size(log), 101000U);
    EXPECT_FALSE(run.verdict["runs"][0]["notes"].empty());
}

TEST(KitRun, ForkBombHitsTheLimit) {
    const auto run = run_kit("forkbomb", {{"KIT_MAX_PROCS", "40"}});
    EXPECT_EQ(status_of(run), "limit") << reason_of(run);
    EXPECT_EQ(fixture_processes_alive(), 0);
}

TEST(KitRun, MemoryHogHitsTheLimit) {
    const auto run = run_kit("memory", {{"KIT_MEM_MB", "300"}});
    EXPECT_EQ(status_of(run), "limit") << reason_of(run);
}

TEST(KitRun, SecretsAreNotVisibleToTheTest) {
    const auto run = run_kit("secret");
    EXPECT_EQ(status_of(run), "pass") << reason_of(run);
}

TEST(KitRun, BadInputIsAOneLineError) {
    const auto run = run_kit("", {{"KIT_TIMEOUT", "soon"}});
    EXPECT_EQ(run.exit_status, 2);
    EXPECT_NE(run.output.find("KIT_TIMEOUT"), std::string::npos) << run.output;
    const auto missing = run_kit("", {}, {});
    EXPECT_EQ(missing.exit_status, 0);
}

TEST(KitRun, SanitizerReportLandsInItsLogAndFailsTheRun) {
    if (!address_sanitizer) {
        GTEST_SKIP()
            << "needs an AddressSanitizer build (meson setup -Db_sanitize=address,undefined)";
    }
    const auto run = run_kit("heap_overflow", {{"KIT_VARIANT", "asan"}});
    EXPECT_EQ(status_of(run), "sanitizer") << reason_of(run);
    EXPECT_NE(reason_of(run).find("heap-buffer-overflow"), std::string::npos) << reason_of(run);
    ASSERT_FALSE(run.verdict["runs"][0]["sanitizer_logs"].empty());
}

TEST(KitRun, MissingCommandIsReported) {
    const std::string command =
        required_env("KIT_RUN_BIN") + " /nonexistent/program >/dev/null 2>&1";
    EXPECT_EQ(WEXITSTATUS(std::system(command.c_str())), 1);  // NOLINT(cert-env33-c): fixed command
}

}  // namespace
