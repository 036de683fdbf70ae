// kit-grade's trust and score policy: signed verdicts, all-N-must-pass, per-variant items, derived
// timeouts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "common/hmac.hpp"
#include "common/verdict.hpp"
#include "grade/grade.hpp"
#include "grade/test_user.hpp"
#include "grade/util.hpp"

namespace {

using kit::VerdictState;
using kit::grade::ItemResult;
using kit::grade::VariantOutcome;
using nlohmann::json;

// A verdict as kit-run builds it: the shared type, its JSON, and kit-run's signer.
json verdict_json(int repeat, int passed) {
    kit::Verdict v;
    v.item = "sum_of_squares";
    v.lesson = "lesson7";
    v.variant = "tsan";
    v.repeat = repeat;
    v.passed_runs = passed;
    v.timeout = 5;
    v.reproduce = "cd build && ./t";
    for (int i = 0; i < repeat; ++i) {
        kit::RunVerdict run;
        run.index = i;
        run.status = i < passed ? kit::RunStatus::pass : kit::RunStatus::fail;
        run.exit_code = i < passed ? 0 : 1;
        run.seconds = 0.5;
        run.log = "/tmp/x.log";
        run.reason = i < passed ? "" : "SumOfSquares.Small failed";
        v.runs.push_back(run);
    }
    return kit::to_json(v);
}

std::string sign_verdict_text(json verdict, const std::string& secret) {
    kit::sign_verdict(verdict, secret);
    return verdict.dump();
}

TEST(GradeVerdict, SignedByTheRunSecretIsVerified) {
    std::string secret = kit::random_hex(32);
    ASSERT_EQ(secret.size(), 64U);
    std::string text = sign_verdict_text(verdict_json(3, 3), secret);
    auto load = kit::check_verdict_text(text, secret);
    ASSERT_EQ(load.state, VerdictState::verified) << load.detail;
    EXPECT_EQ(load.verdict.runs.size(), 3U);
    EXPECT_TRUE(kit::verdict_passes(load.verdict, 3));
}

TEST(GradeVerdict, ForgedOrTamperedVerdictsAreRejected) {
    std::string secret = kit::random_hex(32);
    // Signed with another secret (a student guessing, or a stale file from an earlier grading).
    std::string other = sign_verdict_text(verdict_json(1, 1), kit::random_hex(32));
    EXPECT_EQ(kit::check_verdict_text(other, secret).state, VerdictState::forged);
    // Correctly signed, then edited to claim a pass.
    json j = json::parse(sign_verdict_text(verdict_json(1, 0), secret));
    j["passed_runs"] = 1;
    j["runs"][0]["status"] = "pass";
    EXPECT_EQ(kit::check_verdict_text(j.dump(), secret).state, VerdictState::forged);
    // No HMAC at all.
    EXPECT_EQ(kit::check_verdict_text(verdict_json(1, 1).dump(), secret).state,
              VerdictState::forged);
    EXPECT_EQ(kit::check_verdict_text("not json", secret).state, VerdictState::unreadable);
    EXPECT_EQ(kit::load_verdict("/nonexistent/verdict.json", secret).state, VerdictState::missing);
    // An empty secret never verifies anything.
    EXPECT_EQ(kit::check_verdict_text(sign_verdict_text(verdict_json(1, 1), ""), "").state,
              VerdictState::forged);
}

TEST(GradeVerdict, NotesAndTimeoutSurviveTheRoundTrip) {
    const std::string secret = kit::random_hex(32);
    json j = verdict_json(1, 0);
    j["runs"][0]["notes"] = json::array({"the test left 2 process(es) running"});
    j["runs"][0]["hang"] = {{"kind", "deadlock"}, {"backtrace", "/tmp/x.bt"}};
    const auto load = kit::check_verdict_text(sign_verdict_text(j, secret), secret);
    ASSERT_EQ(load.state, VerdictState::verified) << load.detail;
    EXPECT_DOUBLE_EQ(load.verdict.timeout, 5);
    ASSERT_EQ(load.verdict.runs.size(), 1U);
    const auto& run = load.verdict.runs.front();
    EXPECT_EQ(run.status, kit::RunStatus::fail);
    ASSERT_EQ(run.notes.size(), 1U) << "hint: kit-run's notes must reach kit-grade";
    EXPECT_EQ(run.notes.front(), "the test left 2 process(es) running");
    ASSERT_TRUE(run.hang.has_value());
    EXPECT_EQ(run.hang->kind, "deadlock");
    EXPECT_EQ(kit::to_json(run), j["runs"][0]) << "hint: to_json and from_json must agree";
}

TEST(GradeVerdict, HmacKeyIsTheHexTextNotItsBytes) {
    // The interface fixes the key as the 64 ASCII characters (GRADER-INTERFACE.md); RFC 4231 case 2
    // shape.
    EXPECT_EQ(kit::hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(GradePolicy, AllRepeatsMustPass) {
    std::string secret = kit::random_hex(32);
    auto two_of_three =
        kit::check_verdict_text(sign_verdict_text(verdict_json(3, 2), secret), secret);
    ASSERT_EQ(two_of_three.state, VerdictState::verified);
    EXPECT_FALSE(kit::verdict_passes(two_of_three.verdict, 3)) << "hint: policy is all N must pass";
    auto one_of_one =
        kit::check_verdict_text(sign_verdict_text(verdict_json(1, 1), secret), secret);
    EXPECT_FALSE(kit::verdict_passes(one_of_one.verdict, 3))
        << "hint: fewer runs than declared must fail";
}

kit::grade::OutcomeState state_of(const std::string& word) {
    using kit::grade::OutcomeState;
    for (const OutcomeState state :
         {OutcomeState::pass, OutcomeState::fail, OutcomeState::not_built,
          OutcomeState::not_required, OutcomeState::not_run}) {
        if (kit::grade::to_string(state) == word) {
            return state;
        }
    }
    ADD_FAILURE() << "no outcome state '" << word << "'";
    return OutcomeState::fail;
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
        o.state = state_of(s);
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

namespace {

// Per-grading test users (grade/test_user.cpp): two leases held at once never share a uid, a
// released uid is free again, and a uid that owns a process is not leased.
TEST(TestUserLease, ConcurrentLeasesGetDistinctUidsAndReleasedOnesComeBack) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "test users are leased only when grading as root";
    }
    // A range of its own, so that a grading running on this machine is not disturbed.
    ASSERT_EQ(::setenv("KIT_UID_BASE", "1900100000", 1), 0);
    ASSERT_EQ(::setenv("KIT_UID_COUNT", "2", 1), 0);
    auto first = kit::grade::TestUserLease::acquire();
    auto second = kit::grade::TestUserLease::acquire();
    EXPECT_NE(first->uid(), second->uid());
    EXPECT_THROW(kit::grade::TestUserLease::acquire(), kit::grade::GradeError);  // both held
    const uid_t again = first->uid();
    first.reset();
    EXPECT_EQ(kit::grade::TestUserLease::acquire()->uid(), again);
    ::unsetenv("KIT_UID_BASE");
    ::unsetenv("KIT_UID_COUNT");
}

TEST(TestUserLease, SeesProcessesOfAUid) {
    EXPECT_TRUE(kit::grade::uid_has_processes(::geteuid()));  // this test itself
    EXPECT_FALSE(kit::grade::uid_has_processes(1900100999));
}

}  // namespace
