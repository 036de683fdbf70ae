// kit-grade's parsers on real sanitizer reports (captured from tiny buggy programs), tidy output
// and flags.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "grade/findings.hpp"
#include "grade/manifest.hpp"
#include "grade/util.hpp"

namespace {

namespace fs = std::filesystem;
using kit::grade::Finding;
using kit::grade::Owner;

std::string data(const std::string& name) {
    const char* dir = std::getenv("KIT_GRADE_TEST_DATA");
    fs::path base = dir != nullptr ? fs::path(dir) : fs::path("grader/tests/data");
    return kit::grade::read_file(base / name);
}

// The student owns lessons/lesson7/src/*.cpp in these logs (the programs were compiled from there).
kit::grade::SourceMap student_map(const fs::path& base = "/repo") {
    return kit::grade::SourceMap{"/repo", base, [](const std::string& p) {
                                     return p.rfind("lessons/lesson7/src/", 0) == 0;
                                 }};
}

TEST(GradeSanitizerLog, AsanHeapOverflowPointsAtFirstStudentFrame) {
    auto findings =
        kit::grade::parse_sanitizer_log(data("grade_asan_heap_overflow.log"), student_map());
    ASSERT_EQ(findings.size(), 1U) << "hint: one ASan report must give one finding";
    const Finding& f = findings[0];
    EXPECT_EQ(f.tool, "asan");
    EXPECT_EQ(f.kind, "heap-buffer-overflow");
    EXPECT_EQ(f.file, "lessons/lesson7/src/overflow.cpp");
    EXPECT_EQ(f.line, 3);
    EXPECT_EQ(f.owner, Owner::student);
    EXPECT_NE(f.message.find("READ of size 4"), std::string::npos) << f.message;
    EXPECT_EQ(f.message.find("0x6"), std::string::npos)
        << "hint: addresses must be masked: " << f.message;
}

TEST(GradeSanitizerLog, PathsRelativeToTheBuildDirMapIntoTheRepo) {
    std::string log = data("grade_asan_heap_overflow.log");
    // Meson compiles from build/<dir>, so reports name sources as ../../lessons/...
    std::string rewritten;
    for (const auto& line : kit::grade::split_lines(log)) {
        std::string l = line;
        auto pos = l.find(" lessons/");
        if (pos != std::string::npos) {
            l.replace(pos, 1, " ../../");
        }
        rewritten += l + "\n";
    }
    auto findings =
        kit::grade::parse_sanitizer_log(rewritten, student_map("/repo/build/starter-asan"));
    ASSERT_EQ(findings.size(), 1U);
    EXPECT_EQ(findings[0].file, "lessons/lesson7/src/overflow.cpp");
    EXPECT_EQ(findings[0].owner, Owner::student);
}

TEST(GradeSanitizerLog, TsanRaceAndLockOrderInversionAreSeparateFindings) {
    auto findings =
        kit::grade::parse_sanitizer_log(data("grade_tsan_race_and_inversion.log"), student_map());
    ASSERT_EQ(findings.size(), 2U) << "hint: a data race and a lock-order inversion";
    EXPECT_EQ(findings[0].tool, "tsan");
    EXPECT_EQ(findings[0].kind, "data-race");
    EXPECT_EQ(findings[0].file, "lessons/lesson7/src/racy.cpp");
    EXPECT_EQ(findings[0].line, 4);
    EXPECT_NE(findings[0].message.find("'counter'"), std::string::npos) << findings[0].message;
    EXPECT_EQ(findings[1].kind, "lock-order-inversion");
    EXPECT_EQ(findings[1].owner, Owner::student);
    EXPECT_EQ(findings[1].file, "lessons/lesson7/src/racy.cpp")
        << "hint: the first student frame, not pthread_mutex_lock or std::mutex::lock";
    EXPECT_EQ(findings[1].line, 6);
}

TEST(GradeSanitizerLog, SameReportTwiceIsOneFindingCountedTwice) {
    std::string log = data("grade_tsan_race_and_inversion.log");
    auto findings = kit::grade::parse_sanitizer_log(log + "\n" + log, student_map());
    ASSERT_EQ(findings.size(), 2U);
    EXPECT_EQ(findings[0].count, 2);
    std::vector<Finding> all;
    kit::grade::merge_findings(all, findings, "tsan/a");
    kit::grade::merge_findings(all, findings, "tsan/b");
    ASSERT_EQ(all.size(), 2U) << "hint: dedup by stack signature across items";
    EXPECT_EQ(all[0].where.size(), 2U);
}

TEST(GradeSanitizerLog, UbsanWithAndWithoutStack) {
    for (const char* name : {"grade_ubsan_overflow_stack.log", "grade_ubsan_overflow_plain.log"}) {
        auto findings = kit::grade::parse_sanitizer_log(data(name), student_map());
        ASSERT_EQ(findings.size(), 1U) << name;
        EXPECT_EQ(findings[0].tool, "ubsan");
        EXPECT_EQ(findings[0].kind, "signed-integer-overflow");
        EXPECT_EQ(findings[0].file, "lessons/lesson7/src/ub.cpp");
        EXPECT_EQ(findings[0].line, 3);
    }
    auto a = kit::grade::parse_sanitizer_log(data("grade_ubsan_overflow_stack.log"), student_map());
    auto b = kit::grade::parse_sanitizer_log(data("grade_ubsan_overflow_plain.log"), student_map());
    EXPECT_EQ(a[0].owner, Owner::student);
}

TEST(GradeSanitizerLog, LeakReportsEachLeakWithItsAllocationSite) {
    auto findings = kit::grade::parse_sanitizer_log(data("grade_lsan_leak.log"), student_map());
    ASSERT_EQ(findings.size(), 1U);
    EXPECT_EQ(findings[0].tool, "lsan");
    EXPECT_EQ(findings[0].kind, "memory-leak");
    EXPECT_EQ(findings[0].file, "lessons/lesson7/src/leak.cpp");
    EXPECT_EQ(findings[0].line, 2);
}

TEST(GradeSanitizerLog, ReportOnlyInProvidedCodeGoesToTheInstructor) {
    std::string log = data("grade_asan_heap_overflow.log");
    // Nobody owns these files as a student: the finding belongs to the instructor section.
    kit::grade::SourceMap map{"/repo", "/repo", [](const std::string&) { return false; }};
    auto findings = kit::grade::parse_sanitizer_log(log, map);
    ASSERT_EQ(findings.size(), 1U);
    EXPECT_EQ(findings[0].owner, Owner::provided);
    kit::grade::SourceMap outside{"/elsewhere", "/elsewhere",
                                  [](const std::string&) { return true; }};
    auto third = kit::grade::parse_sanitizer_log(log, outside);
    ASSERT_EQ(third.size(), 1U);
    EXPECT_EQ(third[0].owner, Owner::student)
        << "relative paths resolve against the base directory";
}

TEST(GradeTidy, ParsesWarningsWithCheckNames) {
    std::string out =
        "/repo/lessons/lesson7/src/sum_squares.cpp:12:5: warning: variable 'x' is not initialized "
        "[cppcoreguidelines-init-variables]\n"
        "    int x;\n"
        "/repo/lessons/lesson7/include/lesson7/a.hpp:3:1: warning: something [bugprone-foo]\n";
    auto findings = kit::grade::parse_tidy_output(out, student_map());
    ASSERT_EQ(findings.size(), 2U);
    EXPECT_EQ(findings[0].kind, "cppcoreguidelines-init-variables");
    EXPECT_EQ(findings[0].file, "lessons/lesson7/src/sum_squares.cpp");
    EXPECT_EQ(findings[0].line, 12);
    EXPECT_EQ(findings[0].owner, Owner::student);
    EXPECT_EQ(findings[1].owner, Owner::provided);
}

TEST(GradeCompileErrors, StudentErrorsFirstInPlainWords) {
    std::string log =
        "[1/4] Compiling C++ object "
        "kit/liblesson7-student.a.p/..._lessons_lesson7_src_sum_squares.cpp.o\n"
        "FAILED: kit/x.o\n"
        "../../lessons/common/include/kit/a.hpp:1:1: error: provided thing broke\n"
        "../../lessons/lesson7/src/sum_squares.cpp:7:12: error: 'sum' was not declared in this "
        "scope\n"
        "/usr/bin/ld: kit/y.o: in function `main':\n"
        "../../lessons/lesson7/tests/public/x_test.cpp:9: undefined reference to `lesson7::f()'\n";
    auto errs = kit::grade::parse_compile_errors(log, student_map("/repo/build/starter-plain"), 5);
    ASSERT_EQ(errs.size(), 3U);
    EXPECT_EQ(errs[0].file, "lessons/lesson7/src/sum_squares.cpp");
    EXPECT_EQ(errs[0].line, 7);
    EXPECT_EQ(errs[0].message, "'sum' was not declared in this scope");
    EXPECT_EQ(errs[2].kind, "link-error");
    EXPECT_NE(errs[2].message.find("never defined"), std::string::npos);
}

TEST(GradeFlags, FlagsSuppressionsAddedByTheStudentOnly) {
    std::string pristine = "int f();  // NOLINT(provided)\n";
    std::string student =
        "int f();  // NOLINT(provided)\n"
        "int g() { return 1; }  // NOLINT\n"
        "__attribute__((constructor)) static void early() {}\n"
        "__attribute__((no_sanitize(\"thread\"))) void h() {}\n"
        "extern \"C\" const char* __tsan_default_suppressions() { return \"race:*\"; }\n";
    auto flags = kit::grade::scan_flags(student, "lessons/lesson7/src/a.cpp", pristine);
    ASSERT_EQ(flags.size(), 4U);
    EXPECT_EQ(flags[0].kind, "NOLINT");
    EXPECT_EQ(flags[0].line, 2);
    EXPECT_EQ(flags[1].kind, "constructor-attribute");
    EXPECT_EQ(flags[2].kind, "no_sanitize");
    EXPECT_EQ(flags[3].kind, "sanitizer-suppression");
    EXPECT_EQ(kit::grade::scan_flags(student, "a.cpp", "").size(), 5U)
        << "without a baseline every line is flagged";
}

TEST(GradeManifest, StudentPathsInEveryEdition) {
    kit::grade::Manifest m = kit::grade::parse_manifest(
        R"({"format_version":1,"name":"lesson7","dir":"lessons/lesson7","declaration":"lessons/lesson7/meson.build","tasks":["7.1"],"benchmarks":[],"apps":[],"impl":"solution","variant":"plain","bug":"overflow64",
            "student":["lessons/lesson7/src/sum_squares.cpp","lessons/lesson7/src/thread_pool.cpp"],
            "solution_dir":"solutions/lesson7/src","items":[],
            "bugs":[{"name":"overflow64","file":"sum_squares.cpp","items":["sum_of_squares"],"variant":"plain","why":"w"}]})",
        "test");
    auto files = kit::grade::compiled_student_files(m);
    ASSERT_EQ(files.size(), 2U);
    EXPECT_EQ(files[0], "solutions/lesson7/src/sum_squares.cpp")
        << "a bug-zoo build compiles the reference with the bug's patch applied";
    EXPECT_EQ(files[1], "solutions/lesson7/src/thread_pool.cpp");
    EXPECT_TRUE(kit::grade::is_student_path(m, "lessons/lesson7/src/thread_pool.cpp"));
    EXPECT_TRUE(kit::grade::is_student_path(m, "solutions/lesson7/src/thread_pool.cpp"));
    EXPECT_FALSE(kit::grade::is_student_path(m, "lessons/lesson7/bugs/overflow64.patch"));
    EXPECT_FALSE(kit::grade::is_student_path(m, "lessons/lesson7/tests/public/thread_pool.cpp"));
    EXPECT_FALSE(kit::grade::is_student_path(m, "lessons/lesson7/include/lesson7/thread_pool.hpp"));
}

}  // namespace
