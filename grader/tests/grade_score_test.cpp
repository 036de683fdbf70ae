// kit-grade's trust and score policy: signed verdicts, all-N-must-pass, per-variant items, derived
// timeouts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "grade/grade.hpp"
#include "grade/util.hpp"
#include "grade/verdict.hpp"

namespace {

using kit::grade::ItemResult;
using kit::grade::VariantOutcome;
using kit::grade::VerdictState;
using nlohmann::json;

json verdict_json(int repeat, int passed) {
    json runs = json::array();
    for (int i = 0; i < repeat; ++i) {
        runs.push_back({{"index", i},
                        {"status", i < passed ? "pass" : "fail"},
                        {"exit_code", i < passed ? 0 : 1},
                        {"signal", 0},
                        {"seconds", 0.5},
                        {"cases_passed", json::array()},
                        {"cases_failed", json::array()},
                        {"log", "/tmp/x.log"},
                        {"sanitizer_logs", json::array()},
                        {"hang", nullptr},
                        {"reason", i < passed ? "" : "SumOfSquares.Small failed"}});
    }
    return {{"item", "sum_of_squares"},
            {"lesson", "lesson7"},
            {"variant", "tsan"},
            {"repeat", repeat},
            {"passed_runs", passed},
            {"runs", runs},
            {"reproduce", "cd build && ./t"}};
}

TEST(GradeVerdict, SignedByTheRunSecretIsVerified) {
    std::string secret = kit::grade::random_secret_hex();
    ASSERT_EQ(secret.size(), 64U);
    std::string text = kit::grade::sign_verdict_text(verdict_json(3, 3).dump(), secret);
    auto load = kit::grade::check_verdict_text(text, secret);
    ASSERT_EQ(load.state, VerdictState::verified) << load.detail;
    EXPECT_EQ(load.verdict.runs.size(), 3U);
    EXPECT_TRUE(kit::grade::verdict_passes(load.verdict, 3));
}

TEST(GradeVerdict, ForgedOrTamperedVerdictsAreRejected) {
    std::string secret = kit::grade::random_secret_hex();
    // Signed with another secret (a student guessing, or a stale file from an earlier grading).
    std::string other =
        kit::grade::sign_verdict_text(verdict_json(1, 1).dump(), kit::grade::random_secret_hex());
    EXPECT_EQ(kit::grade::check_verdict_text(other, secret).state, VerdictState::forged);
    // Correctly signed, then edited to claim a pass.
    json j = json::parse(kit::grade::sign_verdict_text(verdict_json(1, 0).dump(), secret));
    j["passed_runs"] = 1;
    j["runs"][0]["status"] = "pass";
    EXPECT_EQ(kit::grade::check_verdict_text(j.dump(), secret).state, VerdictState::forged);
    // No HMAC at all.
    EXPECT_EQ(kit::grade::check_verdict_text(verdict_json(1, 1).dump(), secret).state,
              VerdictState::forged);
    EXPECT_EQ(kit::grade::check_verdict_text("not json", secret).state, VerdictState::unreadable);
    EXPECT_EQ(kit::grade::load_verdict("/nonexistent/verdict.json", secret).state,
              VerdictState::missing);
    // An empty secret never verifies anything.
    EXPECT_EQ(kit::grade::check_verdict_text(
                  kit::grade::sign_verdict_text(verdict_json(1, 1).dump(), ""), "")
                  .state,
              VerdictState::forged);
}

TEST(GradeVerdict, HmacKeyIsTheHexTextNotItsBytes) {
    // The interface fixes the key as the 64 ASCII characters (GRADER-INTERFACE.md); RFC 4231 case 2
    // shape.
    EXPECT_EQ(kit::grade::hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(GradePolicy, AllRepeatsMustPass) {
    std::string secret = kit::grade::random_secret_hex();
    auto two_of_three = kit::grade::check_verdict_text(
        kit::grade::sign_verdict_text(verdict_json(3, 2).dump(), secret), secret);
    ASSERT_EQ(two_of_three.state, VerdictState::verified);
    EXPECT_FALSE(kit::grade::verdict_passes(two_of_three.verdict, 3))
        << "hint: policy is all N must pass";
    auto one_of_one = kit::grade::check_verdict_text(
        kit::grade::sign_verdict_text(verdict_json(1, 1).dump(), secret), secret);
    EXPECT_FALSE(kit::grade::verdict_passes(one_of_one.verdict, 3))
        << "hint: fewer runs than declared must fail";
}

ItemResult item_with(std::initializer_list<const char*> states) {
    ItemResult r;
    r.item.name = "thread_pool_submit";
    r.item.points = 10;
    const char* names[] = {"plain", "asan", "tsan"};
    int i = 0;
    for (const char* s : states) {
        VariantOutcome o;
        o.variant = names[i++];
        o.state = s;
        r.outcomes.push_back(o);
    }
    return r;
}

TEST(GradePolicy, ItemScoresOnlyWhenEveryRequiredVariantPasses) {
    EXPECT_EQ(kit::grade::item_score(item_with({"pass", "pass", "pass"})), 10);
    EXPECT_EQ(kit::grade::item_score(item_with({"pass", "pass", "fail"})), 0)
        << "hint: a TSan failure costs the item";
    EXPECT_EQ(kit::grade::item_score(item_with({"pass", "not-built", "pass"})), 0);
    EXPECT_EQ(kit::grade::item_score(item_with({"pass", "not-required", "pass"})), 10)
        << "hint: a variant the item leaves out does not count";
    EXPECT_EQ(kit::grade::item_score(item_with({"not-required", "not-required", "not-required"})),
              0);
    ItemResult hidden = item_with({"pass", "pass", "pass"});
    hidden.graded = false;
    EXPECT_EQ(kit::grade::item_score(hidden), 0);
}

TEST(GradeTimeouts, DerivedFromCalibrationWithFloorMarginAndCeiling) {
    kit::grade::Item fast;
    fast.name = "fast";
    fast.timeout = 60;
    kit::grade::Item slow;
    slow.name = "slow";
    slow.timeout = 30;
    kit::grade::Item unknown;
    unknown.name = "unknown";
    unknown.timeout = 45;
    std::string cal = R"({"margin":10,"floor_seconds":5,"items":{
        "fast":{"plain":{"measured":0.1,"timeout":5}},
        "slow":{"tsan":{"measured":4.0,"timeout":30}}}})";
    json t =
        json::parse(kit::grade::derive_timeouts(cal, {fast, slow, unknown}, {"plain", "tsan"}));
    EXPECT_DOUBLE_EQ(t["fast"]["plain"].get<double>(), 5.0) << "floor";
    EXPECT_DOUBLE_EQ(t["fast"]["tsan"].get<double>(), 60.0) << "no measurement: the ceiling";
    EXPECT_DOUBLE_EQ(t["slow"]["tsan"].get<double>(), 30.0)
        << "10 x 4 s capped at the 30 s ceiling";
    EXPECT_DOUBLE_EQ(t["unknown"]["plain"].get<double>(), 45.0);
    json none = json::parse(kit::grade::derive_timeouts("", {fast}, {"asan"}));
    EXPECT_DOUBLE_EQ(none["fast"]["asan"].get<double>(), 60.0);
}

}  // namespace
