// The audit's rules, as pure functions of names and text (the unit tests call them directly):
// which symbols a student object may define and reference, which initialisers and includes are
// the compiler's own, which source constructs hide code from the sanitizers.
#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "audit.hpp"
#include "common/hmac.hpp"
#include "util.hpp"

namespace kit::grade {

namespace {

bool allowed_by_lesson(std::string_view name, const std::vector<std::string>& allow) {
    return std::find(allow.begin(), allow.end(), name) != allow.end();
}

// Skips the special-name prefix of a mangled name (vtable, typeinfo, guard, TLS wrapper, thunks)
// and returns the encoding that names the entity itself.
std::string_view entity_encoding(std::string_view m) {
    static const std::regex special(R"(^(TV|TI|TS|TT|GV|TH|TW|GR|Th[n]?\d+_|Tv[n]?\d+_n?\d+_|Tc))");
    std::cmatch match;
    if (std::regex_search(m.begin(), m.end(), match, special)) {
        m.remove_prefix(static_cast<std::size_t>(match.length(0)));
    }
    return m;
}

// The namespace an encoding (after "_Z" and any special prefix) lives in: "lesson" for the lesson's
// own namespace, "std" for std:: and __gnu_cxx::, "" for anything else (the global namespace, C
// names, other libraries).
std::string encoding_namespace(std::string_view e, std::string_view lesson_token) {
    if (!e.empty() && e.front() == 'Z') {
        e.remove_prefix(1);  // a local entity: the function it lives in decides
    }
    if (!e.empty() && e.front() == 'N') {
        e.remove_prefix(1);
        while (!e.empty() && (e.front() == 'r' || e.front() == 'V' || e.front() == 'K' ||
                              e.front() == 'R' || e.front() == 'O')) {
            e.remove_prefix(1);
        }
    }
    if (starts_with(e, lesson_token)) {
        return "lesson";
    }
    if (starts_with(e, "St") || starts_with(e, "9__gnu_cxx") || starts_with(e, "Sa") ||
        starts_with(e, "Sb") || starts_with(e, "Ss") || starts_with(e, "Si") ||
        starts_with(e, "So") || starts_with(e, "Sd")) {
        return "std";
    }
    return "";
}

}  // namespace

std::string defined_symbol_violation(std::string_view name, bool weak, std::string_view lesson,
                                     const std::vector<std::string>& allow) {
    if (allowed_by_lesson(name, allow)) {
        return {};
    }
    // What the compiler adds to honest code: references to the personality routine and to
    // typeinfo for exception tables, clang's terminate helper.
    if (starts_with(name, "DW.ref.") || name == "__clang_call_terminate") {
        return {};
    }
    const std::string lesson_token = std::to_string(lesson.size()) + std::string(lesson);
    if (starts_with(name, "_Z")) {
        const std::string ns = encoding_namespace(entity_encoding(name.substr(2)), lesson_token);
        if (ns == "lesson") {
            return {};
        }
        // std templates instantiated for the student's code: weak (COMDAT) copies, or a
        // specialisation for a lesson type, which nothing else can define.
        if (ns == "std" && (weak || name.find(lesson_token) != std::string_view::npos)) {
            return {};
        }
    }
    if (starts_with(name, "__tsan_") || starts_with(name, "__asan_") ||
        starts_with(name, "__lsan_") || starts_with(name, "__ubsan_") ||
        starts_with(name, "__sanitizer_") || starts_with(name, "__msan_")) {
        return "defines a sanitizer hook: it changes what the sanitizer reports, so a run "
               "containing it proves nothing";
    }
    if (!starts_with(name, "_Z")) {
        return "defines a C symbol outside namespace " + std::string(lesson) +
               ": a definition in the test program takes the place of the library function of "
               "that name (libc, OpenSSL, the test main's), so the grader cannot trust what the "
               "tests and their record saw";
    }
    return "defines a symbol outside namespace " + std::string(lesson) +
           ": it can replace a function of GoogleTest, the kit or a library the tests rely on";
}

std::string referenced_symbol_violation(std::string_view name,
                                        const std::vector<std::string>& allow) {
    if (allowed_by_lesson(name, allow)) {
        return {};
    }
    if (name.find("N7testing") != std::string_view::npos || starts_with(name, "_ZN7testing") ||
        starts_with(name, "_ZNK7testing")) {
        return "uses GoogleTest: code under test can change how tests report (a fake result "
               "reporter, a listener, the filter flag)";
    }
    // The instrumentation calls GCC and clang emit themselves (checked against the objects of the
    // reference and the starter in every variant); the sanitizers' interface functions are not.
    static const std::regex instrumentation(
        R"(^__tsan_((unaligned_|volatile_)?(read|write)(1|2|4|8|16)(_pc)?|(read|write)_range|)"
        R"(func_(entry|exit)|init|vptr_(update|read)|atomic(8|16|32|64|128)_\w+|)"
        R"(atomic_(thread|signal)_fence|mem(cpy|set|move))$|)"
        R"(^__asan_((report_)?(exp_)?(load|store)(1|2|4|8|16|_n|N)(_noabort)?|)"
        R"(stack_(malloc|free)(_always)?_\d+|option_detect_stack_use_after_return|)"
        R"(version_mismatch_check_v\d+|(un)?register_(image_|elf_)?globals|init|)"
        R"(handle_no_return|(before|after)_dynamic_init|mem(cpy|set|move)|alloca_poison|)"
        R"(allocas_unpoison|set_shadow_[0-9a-f]+|shadow_memory_dynamic_address|)"
        R"((poison|load)_cxx_array_cookie)$|)"
        R"(^__ubsan_(handle_\w+|vptr_type_cache)$)");
    if (starts_with(name, "__tsan_") || starts_with(name, "__asan_") ||
        starts_with(name, "__lsan_") || starts_with(name, "__ubsan_") ||
        starts_with(name, "__sanitizer_") || starts_with(name, "__msan_") ||
        starts_with(name, "__hwasan_")) {
        if (std::regex_match(name.begin(), name.end(), instrumentation)) {
            return {};
        }
        return "calls a sanitizer interface function: code under test can switch checks off or "
               "hide a report";
    }
    // Raw syscall() is not on this list: libstdc++'s atomic wait (std::jthread, std::latch) calls
    // syscall(SYS_futex) inline, so the reference references it too.
    static const std::set<std::string, std::less<>> loader = {
        "dlopen",       "dlmopen",           "dlsym", "dlvsym", "dladdr", "dladdr1", "dlinfo",
        "__libc_dlsym", "__libc_dlopen_mode"};
    if (loader.count(name) != 0) {
        return "looks up or calls code the grader cannot see (dynamic symbol lookup or a raw "
               "system call)";
    }
    static const std::regex kit_record(
        R"(^_ZN3kit(15hmac_sha256_hex|10sha256_hex|6to_hex|19constant_time_equal|10random_hex|)"
        R"(6is_hex|6record)|kit_read_record_key)");
    if (std::regex_search(name.begin(), name.end(), kit_record)) {
        return "calls the kit's record or HMAC functions, which sign the tests' results";
    }
    return {};
}

bool compiler_initialiser(std::string_view name, bool sanitized) {
    static const std::regex re(
        R"(^(_GLOBAL__sub_[ID]_[\w.$]*|(asan|tsan|msan|hwasan|ubsan)\.module_(ctor|dtor)(\.\w+)?)$)");
    // GCC names the module constructor and destructor its sanitizers add _sub_I_00099_N and
    // _sub_D_00099_N (priority 99, in .init_array.00099 / .fini_array.00099). They are accepted
    // only in a sanitized build: the same name in the plain build is a student's own entry, and a
    // student file cannot add it to the sanitized builds alone without a 'section' attribute or a
    // __SANITIZE_*__ test, which the source scan charges.
    static const std::regex gcc_sanitizer(R"(^_sub_[ID]_00099_\d+$)");
    return std::regex_match(name.begin(), name.end(), re) ||
           (sanitized && std::regex_match(name.begin(), name.end(), gcc_sanitizer));
}

std::string dependency_violation(const std::string& dep, const std::string& source,
                                 std::string_view lesson_dir) {
    if (dep == source) {
        return {};
    }
    if (!dep.empty() && dep.front() == '/') {
        // Outside the graded tree: system headers only.
        for (std::string_view sys : {"/usr/include/", "/usr/lib/gcc/", "/usr/lib/llvm-",
                                     "/usr/local/include/", "/usr/src/googletest/"}) {
            if (starts_with(dep, sys) && dep.find("/../") == std::string::npos) {
                if (sys == std::string_view("/usr/src/googletest/")) {
                    return "includes GoogleTest, which belongs to the tests, not to the code "
                           "under test";
                }
                return {};
            }
        }
        return "includes a file outside the system headers and the lesson's headers";
    }
    const std::string inc = std::string(lesson_dir) + "/include/";
    if ((starts_with(dep, inc) || starts_with(dep, "lessons/common/include/")) &&
        dep.find("..") == std::string::npos) {
        return {};
    }
    if (starts_with(dep, "solutions/")) {
        return "includes the reference solution";
    }
    if (dep.find("/tests/") != std::string::npos) {
        return "includes the lesson's tests";
    }
    return "includes a file of the kit that is not a provided header (only system headers, " + inc +
           " and lessons/common/include/ may be included)";
}

namespace {

// The text with line splices joined and comments replaced by a space, keeping the line count
// (each removed newline is added back after the logical line), so that line numbers still point at
// the student's file.
std::vector<std::string> logical_lines(std::string_view text) {
    std::vector<std::string> out;
    int physical = 1;
    std::string cur;
    int cur_first = 1;
    bool in_block = false;
    char quote = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\\' && i + 1 < text.size() && text[i + 1] == '\n') {
            ++i;
            ++physical;
            continue;
        }
        if (in_block) {
            if (c == '*' && i + 1 < text.size() && text[i + 1] == '/') {
                in_block = false;
                ++i;
                cur += ' ';
            } else if (c == '\n') {
                ++physical;
            }
            continue;
        }
        if (quote == 0 && c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
            in_block = true;
            ++i;
            continue;
        }
        if (quote == 0 && c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
            while (i + 1 < text.size() && text[i + 1] != '\n') {
                if (text[i + 1] == '\\' && i + 2 < text.size() && text[i + 2] == '\n') {
                    ++physical;
                    i += 2;  // a spliced line comment goes on
                    continue;
                }
                ++i;
            }
            continue;
        }
        if (quote != 0 && c == '\\' && i + 1 < text.size()) {
            cur += c;
            cur += text[++i];
            continue;
        }
        if (c == '"' || c == '\'') {
            if (quote == 0) {
                quote = c;
            } else if (quote == c) {
                quote = 0;
            }
        }
        if (c == '\n') {
            quote = 0;
            out.resize(static_cast<std::size_t>(cur_first), "");
            out[static_cast<std::size_t>(cur_first) - 1] = cur;
            cur.clear();
            ++physical;
            cur_first = physical;
            continue;
        }
        cur += c;
    }
    out.resize(static_cast<std::size_t>(cur_first), "");
    out[static_cast<std::size_t>(cur_first) - 1] = cur;
    return out;
}

}  // namespace

std::vector<Finding> scan_hiding(std::string_view text, const std::string& relative_path,
                                 std::string_view baseline) {
    struct Rule {
        std::regex re;
        const char* kind;
        const char* why;
    };
    static const std::vector<Rule> rules = {
        {std::regex(R"(no_sanitize|no_address_safety_analysis|disable_sanitizer_instrumentation|)"
                    R"(no_stack_protector)"),
         "no_sanitize", "switches a sanitizer off for this code"},
        {std::regex(R"(__(asan|lsan|tsan|ubsan|msan|hwasan|sanitizer)_\w+)"), "sanitizer-interface",
         "defines or calls a sanitizer hook or interface function (options, suppressions, "
         "disabling, annotations)"},
        {std::regex(
             R"(__SANITIZE_\w+__|_sanitizer\b|__has_feature|__has_attribute\s*\(\s*no_sanitize|)"
             R"(_GLIBCXX_SANITIZE)"),
         "sanitizer-test", "chooses different code when a sanitizer is on"},
        {std::regex(R"(#\s*pragma\s+(GCC|clang)\s+(diagnostic|optimize|push_options|system_header))"
                    R"(|_Pragma|__pragma)"),
         "diagnostic-pragma",
         "changes the compiler's diagnostics or code generation for this file"},
        {std::regex(R"(__attribute__\s*\(\(.*\b(constructor|destructor|section|weak|weakref|)"
                    R"(alias|ifunc|init_priority|visibility|used|retain|naked|symver)\b)"
                    R"(|\[\[[^\]]*\b(constructor|destructor|section|weak|alias|used|retain)\b)"
                    R"(|__declspec|#\s*pragma\s+(weak|redefine_extname|init|fini))"),
         "linkage-attribute",
         "places code or data where the grader's checks do not look (init sections, weak or "
         "aliased symbols)"},
        {std::regex(R"(\b(asm|__asm__|__asm)\b)"), "asm",
         "inline assembly or a symbol renamed by an asm label: the grader cannot check it"},
    };
    std::multiset<std::string> base_lines;
    for (const auto& l : logical_lines(baseline)) {
        base_lines.insert(trim(l));
    }
    std::vector<Finding> out;
    int lineno = 0;
    for (const std::string& line : logical_lines(text)) {
        ++lineno;
        const std::string t = trim(line);
        for (const auto& rule : rules) {
            if (t.empty() || !std::regex_search(t, rule.re) || base_lines.count(t) != 0) {
                continue;
            }
            Finding f;
            f.tool = "integrity";
            f.kind = rule.kind;
            f.message = std::string(rule.kind) + " in a student file " + rule.why +
                        "; every item scores 0: " + (t.size() > 100 ? t.substr(0, 100) + "..." : t);
            f.file = relative_path;
            f.line = lineno;
            f.owner = Owner::student;
            std::string key = "integrity|";
            key.append(rule.kind).append("|").append(relative_path).append("|").append(t);
            f.signature = sha256_hex(key).substr(0, 16);
            out.push_back(std::move(f));
            break;
        }
    }
    return out;
}

}  // namespace kit::grade
