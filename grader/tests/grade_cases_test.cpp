// Expected case lists (grade/cases.cpp): TEST declarations read from source text, GoogleTest's
// filter semantics, and the comparison with a run's signed record.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "grade/cases.hpp"

namespace {

using kit::grade::case_list_problem;
using kit::grade::declared_cases;
using kit::grade::filter_selects;
using Names = std::vector<std::string>;

TEST(DeclaredCases, ReadsTestMacrosAcrossLinesAndSkipsCommentsStringsAndDisabled) {
    const std::string source = R"src(
#include <gtest/gtest.h>
TEST(SumOfSquares, Small) { EXPECT_EQ(1, 1); }
TEST( ParallelFor ,
      SplitsEvenly ) {}
// TEST(Commented, Out) {}
/* TEST(Block, Comment) {} */
const char* s = "TEST(InString, Literal)";
const char* r = R"x(TEST(InRaw, String))x";
TEST(DISABLED_Suite, Case) {}
TEST(Suite, DISABLED_Case) {}
MY_TEST(Other, Macro)
TEST(ThreadPoolSubmit, ReturnsValue) {}
)src";
    EXPECT_EQ(declared_cases(source), (Names{"SumOfSquares.Small", "ParallelFor.SplitsEvenly",
                                             "ThreadPoolSubmit.ReturnsValue"}));
    EXPECT_TRUE(declared_cases("").empty());
}

TEST(FilterSelects, FollowsGoogleTestSemantics) {
    EXPECT_TRUE(filter_selects("SumOfSquares.*", "SumOfSquares.Small"));
    EXPECT_FALSE(filter_selects("SumOfSquares.*", "SumOfSquaresHidden.Small"));
    EXPECT_TRUE(filter_selects("A.*:B.*", "B.x"));
    EXPECT_TRUE(filter_selects("*-A.slow", "A.fast"));
    EXPECT_FALSE(filter_selects("*-A.slow", "A.slow"));
    EXPECT_FALSE(filter_selects("-A.*:B.*", "B.y"));
    EXPECT_TRUE(filter_selects("-A.*", "C.y"));
    EXPECT_TRUE(filter_selects("A.?ast", "A.fast"));
    EXPECT_FALSE(filter_selects("A.?ast", "A.ast"));
    EXPECT_TRUE(filter_selects("*a*b*", "xxaxxbxx"));
    EXPECT_FALSE(filter_selects("*a*b", "xxaxxbxx"));
}

TEST(CaseListProblem, OnlyTheExactListPasses) {
    const Names want{"A.one", "A.two"};
    EXPECT_EQ(case_list_problem(want, {"A.two", "A.one"}, {}), "");
    EXPECT_EQ(case_list_problem(want, {"A.one"}, {"A.two"}), "");  // a failed case still ran
    const std::string missing = case_list_problem(want, {"A.one"}, {});
    EXPECT_NE(missing.find("missing A.two"), std::string::npos) << missing;
    // A dummy case standing in for the real ones (a rewritten --gtest_filter).
    const std::string dummy = case_list_problem(want, {"A.dummy"}, {});
    EXPECT_NE(dummy.find("missing A.one, A.two"), std::string::npos) << dummy;
    EXPECT_NE(dummy.find("not the item's: A.dummy"), std::string::npos) << dummy;
    EXPECT_NE(case_list_problem(want, {"A.one", "A.two", "A.three"}, {}), "");
    EXPECT_NE(case_list_problem(want, {}, {}), "");
}

}  // namespace
