// Unit tests of kit-run's pure parts: completion-record checks, signed verdicts, environment
// filter.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/hmac.hpp"
#include "common/json_io.hpp"
#include "common/shell.hpp"
#include "run/config.hpp"
#include "run/record.hpp"
#include "run/verdict.hpp"

namespace {

const std::string key(64, 'a');

// Builds a record the way the test main writes it, signing each body with `signer`.
std::string make_record(const std::vector<std::string>& bodies, const std::string& signer = key) {
    std::string out;
    int seq = 0;
    for (const auto& body : bodies) {
        const std::string line = "KR1 " + std::to_string(seq++) + " " + body;
        out += line + " " + kit::hmac_sha256_hex(signer, line) + "\n";
    }
    return out;
}

const std::vector<std::string> good = {
    "start 42",        "plan 0 2 Suite.*",    "begin 0 Suite.A", "case 0 Suite.A pass",
    "begin 0 Suite.B", "case 0 Suite.B pass", "done 1 1",
};

kit::RecordExpectation expect_suite() {
    return {"Suite.*", 1};
}

TEST(Record, CompleteSignedRecordSucceeds) {
    const auto check = kit::check_record(make_record(good), key, expect_suite());
    EXPECT_TRUE(check.success) << check.problem;
    EXPECT_EQ(check.cases_passed, (std::vector<std::string>{"Suite.A", "Suite.B"}));
    EXPECT_TRUE(check.cases_failed.empty());
}

TEST(Record, WrongKeyIsRejected) {
    const auto check =
        kit::check_record(make_record(good, std::string(64, 'b')), key, expect_suite());
    EXPECT_FALSE(check.valid);
    EXPECT_FALSE(check.success);
    EXPECT_NE(check.problem.find("bad signature"), std::string::npos) << check.problem;
}

TEST(Record, MissingDoneMeansUnfinished) {
    std::vector<std::string> bodies(good.begin(), good.end() - 1);
    const auto check = kit::check_record(make_record(bodies), key, expect_suite());
    EXPECT_TRUE(check.valid);
    EXPECT_FALSE(check.finished);
    EXPECT_FALSE(check.success);
}

TEST(Record, OpenCaseIsReportedForAnExitInsideATest) {
    std::vector<std::string> bodies(good.begin(), good.begin() + 5);
    const auto check = kit::check_record(make_record(bodies), key, expect_suite());
    EXPECT_EQ(check.open_case, "Suite.B");
    EXPECT_FALSE(check.success);
}

TEST(Record, DoneBeforeAllPlannedCasesIsInvalid) {
    std::vector<std::string> bodies(good.begin(), good.begin() + 4);
    bodies.emplace_back("done 1 1");
    const auto check = kit::check_record(make_record(bodies), key, expect_suite());
    EXPECT_FALSE(check.valid);
}

TEST(Record, ChangedFilterIsRejected) {
    auto bodies = good;
    bodies[1] = "plan 0 2 Suite.A";
    const auto check = kit::check_record(make_record(bodies), key, expect_suite());
    EXPECT_FALSE(check.valid);
    EXPECT_NE(check.problem.find("filter"), std::string::npos) << check.problem;
}

TEST(Record, EmptyPlanIsRejected) {
    const auto check = kit::check_record(make_record({"start 1", "plan 0 0 Suite.*", "done 0 1"}),
                                         key, expect_suite());
    EXPECT_FALSE(check.success);
}

TEST(Record, FailedCaseIsListed) {
    auto bodies = good;
    bodies[5] = "case 0 Suite.B fail";
    bodies[6] = "done 1 0";
    const auto check = kit::check_record(make_record(bodies), key, expect_suite());
    EXPECT_TRUE(check.valid);
    EXPECT_FALSE(check.success);
    EXPECT_EQ(check.cases_failed, std::vector<std::string>{"Suite.B"});
}

TEST(Record, SkippedCaseDoesNotCountAsPassed) {
    auto bodies = good;
    bodies[3] = "case 0 Suite.A skip";
    const auto check = kit::check_record(make_record(bodies), key, expect_suite());
    EXPECT_FALSE(check.success);
    EXPECT_EQ(check.cases_failed, std::vector<std::string>{"Suite.A"});
}

TEST(Record, ReplayedLineBreaksTheSequence) {
    const std::string record = make_record(good);
    const std::string first_line = record.substr(0, record.find('\n') + 1);
    const auto check = kit::check_record(first_line + record, key, expect_suite());
    EXPECT_FALSE(check.valid);
}

TEST(Record, GarbageNeverThrows) {
    for (const std::string& junk :
         {std::string("\n\n\n"), std::string("KR1"), std::string(1000, ' '),
          std::string("%%%% %ZZ x\n"), std::string("\0\xff", 2)}) {
        const auto check = kit::check_record(junk, key, expect_suite());
        EXPECT_FALSE(check.success);
    }
}

TEST(Record, PercentDecodingRoundTripsSpaces) {
    std::string out;
    EXPECT_TRUE(kit::percent_decode("A%20B%2F", out));
    EXPECT_EQ(out, "A B/");
    EXPECT_FALSE(kit::percent_decode("A%2", out));
    EXPECT_FALSE(kit::percent_decode("%G0", out));
}

TEST(Verdict, SignatureCoversEveryField) {
    const std::string secret(64, 'c');
    nlohmann::json verdict = {{"item", "x"}, {"passed_runs", 1}, {"runs", nlohmann::json::array()}};
    kit::sign_verdict(verdict, secret);
    EXPECT_TRUE(kit::verify_verdict(verdict, secret));
    const auto reparsed = nlohmann::json::parse(verdict.dump(2));
    EXPECT_TRUE(kit::verify_verdict(reparsed, secret)) << "hint: the pretty file must verify too";
    verdict["passed_runs"] = 2;
    EXPECT_FALSE(kit::verify_verdict(verdict, secret));
    EXPECT_FALSE(kit::verify_verdict(reparsed, std::string(64, 'd')));
}

TEST(Verdict, InvalidUtf8IsReplaced) {
    const std::string text = kit::valid_utf8(std::string("ok \xff\xfe caf\xc3\xa9"));
    EXPECT_EQ(text, "ok \xEF\xBF\xBD\xEF\xBF\xBD caf\xC3\xA9");
    EXPECT_NO_THROW(static_cast<void>(nlohmann::json(text).dump()));
}

TEST(Verdict, ShellQuotingSurvivesQuotes) {
    EXPECT_EQ(kit::shell_quote("plain/path-1.0"), "plain/path-1.0");
    EXPECT_EQ(kit::shell_quote("it's"), "'it'\\''s'");
    EXPECT_EQ(kit::shell_quote(""), "''");
}

TEST(Environment, SecretsNeverReachTheTest) {
    std::vector<std::string> storage = {
        "KIT_RUN_SECRET=abc", "GITHUB_TOKEN=t", "AWS_SECRET_ACCESS_KEY=s",     "KIT_BUNDLE_KEY=k",
        "PATH=/bin",          "KIT_ITEM=x",     "ASAN_OPTIONS=halt_on_error=1"};
    std::vector<char*> environ_in;
    environ_in.reserve(storage.size() + 1);
    for (auto& entry : storage) {
        environ_in.push_back(entry.data());
    }
    environ_in.push_back(nullptr);
    kit::Config config;
    config.variant = "asan";
    const auto env = kit::child_environment(environ_in.data(), "/tmp/san", config);
    for (const auto& entry : env) {
        EXPECT_EQ(entry.find("SECRET"), std::string::npos) << entry;
        EXPECT_EQ(entry.find("TOKEN"), std::string::npos) << entry;
        EXPECT_EQ(entry.find("_KEY"), std::string::npos) << entry;
    }
    EXPECT_NE(std::find(env.begin(), env.end(), "PATH=/bin"), env.end());
    EXPECT_NE(
        std::find(env.begin(), env.end(), "ASAN_OPTIONS=halt_on_error=1:log_path=/tmp/san/asan"),
        env.end());
    EXPECT_NE(std::find(env.begin(), env.end(), "UBSAN_OPTIONS=log_path=/tmp/san/ubsan"),
              env.end());
}

}  // namespace
