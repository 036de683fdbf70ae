// Phase 2b, audit: every student object of every built variant, read with binutils' readelf
// (installed by ci/install-deps; it reads GCC's and clang's objects alike, so the grader needs no
// ELF parser of its own), and the object's dependencies from ninja's deps log (the compiler's -MD
// output, which ninja keeps in .ninja_deps: it lists macro-built includes too).
#include <nlohmann/json.hpp>

#include <cctype>
#include <map>
#include <set>
#include <sstream>

#include "audit.hpp"
#include "common/hmac.hpp"
#include "process.hpp"
#include "util.hpp"

namespace kit::grade {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct StudentObject {
    std::string source;  // repo-relative path of the student file
    std::string output;  // object path relative to the build dir
};

// The student library's objects of one build directory, from compile_commands.json: kit/meson.build
// compiles the student files, and only them, into lib<lesson>-student.a.
std::vector<StudentObject> student_objects(const Pass& pass, const VariantState& st) {
    std::vector<StudentObject> out;
    const std::string marker = "lib" + pass.prep.manifest.name + "-student.a.p/";
    json db;
    try {
        db = json::parse(read_file(st.dir / "compile_commands.json"));
    } catch (const json::exception& e) {
        throw GradeError("cannot read " + (st.dir / "compile_commands.json").string() + ": " +
                         e.what() + " (remove the build directory and grade again)");
    }
    for (const auto& entry : db) {
        const std::string output = entry.value("output", "");
        if (output.find(marker) == std::string::npos) {
            continue;
        }
        const std::string file = entry.value("file", "");
        out.push_back({repo_relative(file, pass.prep.src, st.dir), output});
    }
    return out;
}

Finding integrity_finding(const std::string& kind, const std::string& file,
                          const std::string& symbol, const std::string& why,
                          const std::string& variant) {
    Finding f;
    f.tool = "integrity";
    f.kind = kind;
    f.file = file;
    f.function = symbol;
    f.owner = Owner::student;
    f.message = file + ": " + (symbol.empty() ? std::string() : "'" + symbol + "' ") + why +
                "; every item scores 0 (" + variant + " build)";
    f.signature = sha256_hex("integrity|" + kind + "|" + file + "|" + symbol).substr(0, 16);
    return f;
}

std::vector<ObjectSymbol> read_symbols(const std::string& text) {
    std::vector<ObjectSymbol> out;
    for (const std::string& line : split_lines(text)) {
        std::istringstream in(line);
        std::string num;
        std::string value;
        std::string size;
        ObjectSymbol s;
        std::string vis;
        if (!(in >> num >> value >> size >> s.type >> s.bind >> vis >> s.section) ||
            num.size() < 2 || num.back() != ':' ||
            std::isdigit(static_cast<unsigned char>(num.front())) == 0) {
            continue;
        }
        std::getline(in >> std::ws, s.name);
        try {
            s.value = std::stoull(value, nullptr, 16);
        } catch (const std::exception&) {
            continue;
        }
        out.push_back(std::move(s));
    }
    return out;
}

// Section index -> name, from readelf -W -S ("  [ 5] .text.startup PROGBITS ...").
std::map<std::string, std::string> read_sections(const std::string& text) {
    std::map<std::string, std::string> out;
    for (const std::string& line : split_lines(text)) {
        const auto open = line.find('[');
        const auto close = line.find(']');
        if (open == std::string::npos || close == std::string::npos || close < open) {
            continue;
        }
        std::string idx = trim(line.substr(open + 1, close - open - 1));
        std::istringstream rest(line.substr(close + 1));
        std::string name;
        if (rest >> name && !idx.empty() && std::isdigit(static_cast<unsigned char>(idx[0])) != 0) {
            out[idx] = name;
        }
    }
    return out;
}

bool init_section(const std::string& name) {
    for (const char* s : {".init_array", ".preinit_array", ".fini_array", ".ctors", ".dtors"}) {
        if (starts_with(name, s)) {
            return true;
        }
    }
    return false;
}

// Every entry of an init/fini array must point at an initialiser the compiler generated: readelf
// -W -r prints each relocation of ".rela.init_array*" as a symbol (a local section symbol plus an
// addend for GCC's functions in .text.startup), resolved here to the function at that offset.
void check_init_entries(const std::string& relocs, const std::vector<ObjectSymbol>& symbols,
                        const std::map<std::string, std::string>& sections, bool sanitized,
                        std::vector<std::string>& bad) {
    std::string current;
    std::map<std::string, int> entries;
    for (const std::string& line : split_lines(relocs)) {
        if (starts_with(line, "Relocation section '")) {
            const auto q = line.find('\'', 20);
            current = q == std::string::npos ? "" : line.substr(20, q - 20);
            continue;
        }
        const std::string target = starts_with(current, ".rela") ? current.substr(5) : current;
        if (!init_section(target)) {
            continue;
        }
        std::istringstream in(line);
        std::string off;
        std::string info;
        std::string type;
        std::string value;
        std::string name;
        std::string plus;
        std::string addend = "0";
        if (!(in >> off >> info >> type >> value >> name) ||
            off.find_first_not_of("0123456789abcdef") != std::string::npos) {
            continue;  // the column header, or not a relocation line
        }
        in >> plus >> addend;
        if (++entries[target] > 1) {
            bad.push_back(target + " (more than one entry)");
        }
        std::string resolved = name;
        if (!name.empty() && name.front() == '.') {  // a section symbol: find the function there
            unsigned long long at = 0;
            try {
                at = std::stoull(addend, nullptr, 16);
            } catch (const std::exception&) {
                at = ~0ULL;
            }
            resolved.clear();
            for (const auto& s : symbols) {
                auto it = sections.find(s.section);
                if (s.type == "FUNC" && it != sections.end() && it->second == name &&
                    s.value == at) {
                    resolved = s.name;
                    break;
                }
            }
        }
        if (!compiler_initialiser(resolved, sanitized)) {
            std::string entry = target;
            entry.append(" -> ").append(resolved.empty() ? name : resolved);
            if (resolved.empty()) {
                entry.append("+").append(addend);
            }
            bad.push_back(std::move(entry));
        }
    }
}

void audit_object(const Pass& pass, const VariantState& st, const StudentObject& obj,
                  std::vector<Finding>& out) {
    const fs::path path = st.dir / obj.output;
    const std::string& lesson = pass.prep.manifest.name;
    static const std::vector<std::string> allow;  // no lesson needs an 'allow_symbols' key yet
    const std::string where = st.variant;
    ProcessOptions po;
    po.env_set = {{"LC_ALL", "C"}};
    const ProcessResult syms = run_process({"readelf", "-W", "-s", path.string()}, po);
    const ProcessResult secs = run_process({"readelf", "-W", "-S", path.string()}, po);
    const ProcessResult rels = run_process({"readelf", "-W", "-r", path.string()}, po);
    if (!syms.ok() || !secs.ok() || !rels.ok()) {
        out.push_back(integrity_finding(
            "unreadable-object", obj.source, "",
            "its object " + path.string() +
                " could not be read with readelf (is binutils installed? ci/install-deps), so "
                "the grader cannot check what it defines",
            where));
        return;
    }
    const std::vector<ObjectSymbol> symbols = read_symbols(syms.output);
    for (const auto& s : symbols) {
        if (s.name.empty() || s.type == "SECTION" || s.type == "FILE") {
            continue;
        }
        std::string why;
        if (s.section == "UND") {
            why = referenced_symbol_violation(s.name, allow);
        } else if (s.bind != "LOCAL") {
            why = defined_symbol_violation(s.name, s.bind == "WEAK" || s.bind == "UNIQUE", lesson,
                                           allow);
        }
        if (!why.empty()) {
            out.push_back(integrity_finding(s.section == "UND" ? "reference" : "definition",
                                            obj.source, s.name, why, where));
        }
    }
    const auto sections = read_sections(secs.output);
    std::vector<std::string> bad_init;
    for (const auto& [idx, name] : sections) {
        if (starts_with(name, ".preinit_array") || starts_with(name, ".ctors") ||
            starts_with(name, ".dtors")) {
            bad_init.push_back(name);
        }
    }
    check_init_entries(rels.output, symbols, sections, st.variant != "plain", bad_init);
    for (const auto& b : bad_init) {
        out.push_back(integrity_finding(
            "init-section", obj.source, b,
            "puts its own entry in an init/fini array: it runs before main or after exit, "
            "outside the tests (the compiler's own initialisers are the only entries allowed)",
            where));
    }
    // The compiler's dependency list, as ninja recorded it.
    const ProcessResult deps =
        run_process({"ninja", "-C", st.dir.string(), "-t", "deps", obj.output}, po);
    if (!deps.ok() || deps.output.find("(VALID)") == std::string::npos) {
        out.push_back(
            integrity_finding("unknown-includes", obj.source, "",
                              "has no dependency record in " + st.dir.string() +
                                  "/.ninja_deps, so the grader cannot check what it includes",
                              where));
        return;
    }
    const std::string lesson_dir = pass.prep.manifest.dir;
    for (const std::string& line : split_lines(deps.output)) {
        if (line.empty() || line.front() != ' ') {
            continue;
        }
        const std::string dep = repo_relative(trim(line), pass.prep.src, st.dir);
        const std::string why = dependency_violation(dep, obj.source, lesson_dir);
        if (!why.empty()) {
            out.push_back(integrity_finding("include", obj.source, dep, why, where));
        }
    }
}

}  // namespace

std::vector<Finding> scan_student_hiding(const Options& opt, const Prepared& prep) {
    std::vector<Finding> found;
    for (const auto& rel : compiled_student_files(prep.manifest)) {
        const std::string baseline =
            opt.pristine.empty() ? std::string() : read_file_or_empty(opt.pristine / rel);
        auto f = scan_hiding(read_file_or_empty(prep.src / rel), rel, baseline);
        found.insert(found.end(), f.begin(), f.end());
    }
    return found;
}

std::vector<Finding> audit_objects(const Pass& pass) {
    std::vector<Finding> found;
    for (const auto& st : pass.prep.states) {
        if (!st.any_ok) {
            continue;  // nothing linked, nothing runs
        }
        for (const auto& obj : student_objects(pass, st)) {
            if (fs::exists(st.dir / obj.output)) {
                std::vector<Finding> one;
                audit_object(pass, st, obj, one);
                merge_findings(found, one, st.variant);
            }
        }
    }
    return found;
}

void apply_integrity(GradeResult& result, const std::vector<Finding>& integrity) {
    if (integrity.empty()) {
        return;
    }
    const Finding& first = integrity.front();
    const std::string where =
        first.file + (first.line > 0 ? ":" + std::to_string(first.line) : std::string());
    const std::string reason =
        "integrity: " + first.message +
        (integrity.size() > 1
             ? " (and " + std::to_string(integrity.size() - 1) + " more integrity findings)"
             : std::string());
    for (auto& ir : result.items) {
        if (!ir.graded) {
            continue;
        }
        for (auto& o : ir.outcomes) {
            if (o.state == OutcomeState::pass || o.state == OutcomeState::fail ||
                o.state == OutcomeState::not_run) {
                o.state = OutcomeState::fail;
                o.reason = reason;
                o.excerpt.clear();
            }
        }
    }
    result.notes.push_back(
        "integrity: the tests did not run, because the student code contains "
        "something the grader cannot trust (first: " +
        where + "); every item scores 0 in every variant");
}

}  // namespace kit::grade
