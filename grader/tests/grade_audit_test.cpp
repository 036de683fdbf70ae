// The integrity audit's rules (grade/audit_rules.cpp) on the names and lines real builds and real
// hostile submissions produce: what a student object may define, reference, put in an init array
// and include, and which source lines hide code from the sanitizers.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "grade/audit.hpp"

namespace {

using kit::grade::compiler_initialiser;
using kit::grade::defined_symbol_violation;
using kit::grade::dependency_violation;
using kit::grade::referenced_symbol_violation;
using kit::grade::scan_hiding;

const std::vector<std::string> kNoAllow;

TEST(AuditRules, LessonNamespaceAndStdInstantiationsMayBeDefined) {
    // lesson7::sum_of_squares(unsigned long), a lambda's operator() inside lesson7, a vtable.
    EXPECT_EQ(defined_symbol_violation("_ZN7lesson714sum_of_squaresEm", false, "lesson7", kNoAllow),
              "");
    EXPECT_EQ(
        defined_symbol_violation("_ZZN7lesson712parallel_forEmjRKSt8functionIFvmmEEENKUlvE_clEv",
                                 false, "lesson7", kNoAllow),
        "");
    EXPECT_EQ(defined_symbol_violation("_ZTVN7lesson710ThreadPoolE", false, "lesson7", kNoAllow),
              "");
    // std::vector<std::jthread>::~vector(), a weak COMDAT copy.
    EXPECT_EQ(
        defined_symbol_violation("_ZNSt6vectorISt7jthreadSaIS0_EED2Ev", true, "lesson7", kNoAllow),
        "");
}

TEST(AuditRules, InterposedLibraryAndKitSymbolsAreViolations) {
    for (const char* c_name : {"HMAC", "read", "write", "main", "exit"}) {
        EXPECT_NE(defined_symbol_violation(c_name, false, "lesson7", kNoAllow), "") << c_name;
    }
    // A strong std:: definition that names no lesson type replaces the library's.
    EXPECT_NE(defined_symbol_violation("_ZNSt6thread6detachEv", false, "lesson7", kNoAllow), "");
    // testing::UnitTest::Run(), defined in a student file.
    EXPECT_NE(defined_symbol_violation("_ZN7testing8UnitTest3RunEv", false, "lesson7", kNoAllow),
              "");
    // Another lesson's namespace is not this lesson's.
    EXPECT_NE(defined_symbol_violation("_ZN7lesson814sum_of_squaresEm", false, "lesson7", kNoAllow),
              "");
    EXPECT_NE(defined_symbol_violation("__tsan_default_options", false, "lesson7", kNoAllow), "");
    EXPECT_NE(defined_symbol_violation("__asan_default_options", true, "lesson7", kNoAllow), "");
    EXPECT_NE(defined_symbol_violation("__ubsan_default_options", false, "lesson7", kNoAllow), "");
    // The lesson can allow a name explicitly.
    EXPECT_EQ(defined_symbol_violation("read", false, "lesson7", {"read"}), "");
}

TEST(AuditRules, InstrumentationCallsAreAllowedSanitizerInterfacesAreNot) {
    for (const char* emitted :
         {"__tsan_read8", "__tsan_func_entry", "__tsan_atomic32_load", "__asan_report_load8",
          "__asan_register_globals", "__ubsan_handle_add_overflow", "__asan_stack_malloc_2"}) {
        EXPECT_EQ(referenced_symbol_violation(emitted, kNoAllow), "") << emitted;
    }
    for (const char* hook : {"__lsan_disable", "__tsan_ignore_thread_begin",
                             "__sanitizer_set_report_path", "__asan_poison_memory_region"}) {
        EXPECT_NE(referenced_symbol_violation(hook, kNoAllow), "") << hook;
    }
    EXPECT_NE(referenced_symbol_violation("dlsym", kNoAllow), "");
    EXPECT_NE(referenced_symbol_violation("_ZN7testing8internal17GetTestTypeIdEv", kNoAllow), "");
    EXPECT_NE(referenced_symbol_violation("_ZN3kit15hmac_sha256_hexERKSsS1_", kNoAllow), "");
    EXPECT_EQ(referenced_symbol_violation("syscall", kNoAllow), "");
    EXPECT_EQ(referenced_symbol_violation("uv_run", kNoAllow), "");
}

TEST(AuditRules, InitArrayEntriesAreTheCompilersOwnOnly) {
    EXPECT_TRUE(compiler_initialiser("_GLOBAL__sub_I_sum_squares.cpp", false));
    EXPECT_TRUE(compiler_initialiser("asan.module_ctor", true));
    EXPECT_TRUE(compiler_initialiser("tsan.module_ctor", true));
    // GCC's ASan/TSan module constructor and destructor (priority 99): real names from
    // `g++ -fsanitize=address` objects of the reference.
    EXPECT_TRUE(compiler_initialiser("_sub_I_00099_1", true));
    EXPECT_TRUE(compiler_initialiser("_sub_D_00099_0", true));
    // The same names in a plain build can only be a student's own function.
    EXPECT_FALSE(compiler_initialiser("_sub_I_00099_1", false));
    EXPECT_FALSE(compiler_initialiser("_sub_I_00100_1", true));
    EXPECT_FALSE(compiler_initialiser("rewrite_argv", true));
    EXPECT_FALSE(compiler_initialiser("", false));
}

TEST(AuditRules, OnlyProvidedAndSystemHeadersMayBeIncluded) {
    const std::string src = "lessons/lesson7/src/sum_squares.cpp";
    EXPECT_EQ(dependency_violation(src, src, "lessons/lesson7"), "");
    EXPECT_EQ(dependency_violation("lessons/lesson7/include/lesson7/sum_squares.hpp", src,
                                   "lessons/lesson7"),
              "");
    EXPECT_EQ(dependency_violation("/usr/include/c++/12/vector", src, "lessons/lesson7"), "");
    EXPECT_NE(dependency_violation("solutions/lesson7/src/sum_squares.cpp", src, "lessons/lesson7"),
              "");
    EXPECT_NE(dependency_violation("lessons/lesson7/tests/hidden/sum_squares_hidden_test.cpp", src,
                                   "lessons/lesson7"),
              "");
    EXPECT_NE(dependency_violation("lessons/lesson7/include/../../../solutions/x.cpp", src,
                                   "lessons/lesson7"),
              "");
    EXPECT_NE(dependency_violation("/usr/include/../../dev/ptmx", src, "lessons/lesson7"), "");
    EXPECT_NE(dependency_violation("/usr/src/googletest/googletest/include/gtest/gtest-spi.h", src,
                                   "lessons/lesson7"),
              "");
    EXPECT_NE(dependency_violation("/etc/passwd", src, "lessons/lesson7"), "");
}

TEST(AuditRules, SourceScanChargesHidingButNotCommentsOrBaselineLines) {
    const std::string hostile =
        "#include <atomic>\n"
        "// no_sanitize in a comment is fine\n"
        "__attribute__((no_sanitize(\"thread\"))) void racy();\n"
        "extern \"C\" const char* __tsan_default_options() { return \"report_bugs=0\"; }\n"
        "#if defined(__SANITIZE_THREAD__)\n"
        "#endif\n"
        "__attribute__((section(\".init_array\"))) void (*p)() = nullptr;\n"
        "#pragma GCC optimize(\"O0\")\n"
        "int x; /* asm */\n";
    const auto found = scan_hiding(hostile, "lessons/lesson7/src/sum_squares.cpp", "");
    std::vector<int> lines;
    for (const auto& f : found) {
        lines.push_back(f.line);
        EXPECT_EQ(f.file, "lessons/lesson7/src/sum_squares.cpp");
        EXPECT_EQ(f.tool, "integrity");
    }
    EXPECT_EQ(lines, (std::vector<int>{3, 4, 5, 7, 8}));

    // A line the pristine file already has (a provided construct) is not the student's.
    const std::string provided = "#if defined(__SANITIZE_THREAD__)\n#endif\n";
    EXPECT_TRUE(scan_hiding(provided, "lessons/lesson7/src/x.cpp", provided).empty());
    // A splice cannot hide the attribute across two physical lines.
    const auto spliced =
        scan_hiding("__attribute__((no_san\\\nitize(\"thread\"))) void f();\n", "a.cpp", "");
    ASSERT_EQ(spliced.size(), 1U);
    EXPECT_EQ(spliced[0].line, 1);
}

}  // namespace
