// Phase 2b, audit: what the student's objects define, reference, initialise and include, checked
// after the build and before any test runs. A violation is an integrity finding: the grader cannot
// trust a run of a binary that links the object, so every item of the lesson scores 0.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "findings.hpp"
#include "pipeline.hpp"
#include "result.hpp"

namespace kit::grade {

// One symbol of an object's symbol table (readelf -W -s), the part the rules read.
struct ObjectSymbol {
    std::string name;
    std::string type;     // FUNC, OBJECT, NOTYPE, SECTION, ...
    std::string bind;     // GLOBAL, WEAK, LOCAL, UNIQUE
    std::string section;  // section index as printed: "UND", "ABS", "COM" or a number
    unsigned long long value = 0;
};

// The rule a defined global symbol of a student object breaks, or "" when it is allowed: names
// inside the lesson's namespace (and their typeinfo, vtables, guards, thunks, lambdas and local
// statics), instantiations of std templates (weak, or naming a lesson type), and what the compiler
// itself adds (personality references, clang's terminate helper). allow: the lesson's
// 'allow_symbols'.
std::string defined_symbol_violation(std::string_view name, bool weak, std::string_view lesson,
                                     const std::vector<std::string>& allow);

// The rule a referenced (undefined) symbol breaks, or "": GoogleTest, the sanitizer interfaces
// (the instrumentation calls the compiler emits are allowed), dlopen/dlsym, raw syscall, the kit's
// record and HMAC functions.
std::string referenced_symbol_violation(std::string_view name,
                                        const std::vector<std::string>& allow);

// True for the name of an initialiser the compiler generates itself (_GLOBAL__sub_I_...,
// asan.module_ctor, ...): the only functions allowed in .init_array/.fini_array. sanitized: the
// object comes from an ASan or TSan build, where GCC's own _sub_I_00099_N is allowed too.
bool compiler_initialiser(std::string_view name, bool sanitized);

// The rule a dependency of a student object breaks (a file it includes), or "". dep is
// repo-relative when inside the graded tree, absolute otherwise; source is the object's own
// source (repo-relative).
std::string dependency_violation(const std::string& dep, const std::string& source,
                                 std::string_view lesson_dir);

// Inspects every student object of every built variant (symbols, init sections, dependencies);
// returns one integrity finding per file and symbol (or include).
std::vector<Finding> audit_objects(const Pass& pass);

// Source lines that hide code from the sanitizers or the checks (no_sanitize, option hooks,
// interface calls, tests of the sanitizer macros, diagnostic pragmas, section/weak/alias
// attributes, asm), read with comments removed and line splices joined. baseline: the pristine
// file (lines present there are not charged), empty outside --pristine.
std::vector<Finding> scan_hiding(std::string_view text, const std::string& relative_path,
                                 std::string_view baseline);

// scan_hiding over every student file the build compiles (against the pristine copy with
// --pristine).
std::vector<Finding> scan_student_hiding(const Options& opt, const Prepared& prep);

// Charges integrity findings: every graded item whose binary was built fails in every variant it
// is required in, with the first finding as its reason; the findings join the report's list.
void apply_integrity(GradeResult& result, const std::vector<Finding>& integrity);

}  // namespace kit::grade
