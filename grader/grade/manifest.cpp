// The lesson manifest Meson writes at configure time (<builddir>/kit/<lesson>.json), as kit-grade
// reads it.
#include "manifest.hpp"

#include <nlohmann/json.hpp>

#include "util.hpp"

namespace kit::grade {

using nlohmann::json;

namespace {

// Every key is required: kit/meson.build writes all of them, with the declaration's defaults
// already applied (the schema there is the one place defaults live). A missing key means a manifest
// from another version of the kit, never "use a default".
template <class T>
T need(const json& j, const char* key, const std::string& where) {
    if (!j.contains(key)) {
        throw GradeError(where + " has no \"" + key + "\"");
    }
    return j.at(key).get<T>();
}

}  // namespace

Manifest parse_manifest(const std::string& text, const std::string& source) {
    const std::string again =
        "; delete its build directory and grade again to regenerate it with this kit's Meson files";
    try {
        json j = json::parse(text);
        Manifest m;
        if (!j.is_object() || !j.contains("format_version") ||
            !j.at("format_version").is_number_integer()) {
            throw GradeError("the lesson manifest " + source +
                             " has no format_version: it was written by an older kit");
        }
        m.format_version = j.at("format_version").get<int>();
        if (m.format_version != manifest_format_version) {
            throw GradeError("the lesson manifest " + source + " has format_version " +
                             std::to_string(m.format_version) + ", this kit-grade reads version " +
                             std::to_string(manifest_format_version));
        }
        const std::string top = "the lesson manifest " + source;
        m.name = need<std::string>(j, "name", top);
        m.dir = need<std::string>(j, "dir", top);
        m.declaration = need<std::string>(j, "declaration", top);
        m.impl = need<std::string>(j, "impl", top);
        m.variant = need<std::string>(j, "variant", top);
        m.bug = need<std::string>(j, "bug", top);
        m.student = need<std::vector<std::string>>(j, "student", top);
        m.solution_dir = need<std::string>(j, "solution_dir", top);
        m.tasks = need<std::vector<std::string>>(j, "tasks", top);
        m.benchmarks = need<std::vector<std::string>>(j, "benchmarks", top);
        m.apps = need<std::vector<std::string>>(j, "apps", top);
        for (const auto& it : need<json>(j, "items", top)) {
            Item item;
            item.name = need<std::string>(it, "name", top + ": an item");
            const std::string where = top + ": item " + item.name;
            item.test = need<std::string>(it, "test", where);
            item.task = need<std::string>(it, "task", where);
            item.filter = need<std::string>(it, "filter", where);
            if (item.filter.empty()) {
                throw GradeError(where + " has an empty gtest filter");
            }
            item.points = need<double>(it, "points", where);
            item.visibility = need<std::string>(it, "visibility", where);
            item.variants = need<std::vector<std::string>>(it, "variants", where);
            item.repeat = std::max(1, need<int>(it, "repeat", where));
            item.timeout = need<double>(it, "timeout", where);
            item.binary = need<std::string>(it, "binary", where);
            item.present = need<bool>(it, "present", where);
            m.items.push_back(std::move(item));
        }
        for (const auto& b : need<json>(j, "bugs", top)) {
            Bug bug;
            bug.name = need<std::string>(b, "name", top + ": a bug");
            const std::string where = top + ": bug " + bug.name;
            bug.file = need<std::string>(b, "file", where);
            bug.items = need<std::vector<std::string>>(b, "items", where);
            bug.variant = need<std::string>(b, "variant", where);
            bug.why = need<std::string>(b, "why", where);
            m.bugs.push_back(std::move(bug));
        }
        return m;
    } catch (const GradeError& e) {
        throw GradeError(std::string(e.what()) + again);
    } catch (const json::exception& e) {
        throw GradeError("the lesson manifest " + source + " is not valid (" + e.what() + ")" +
                         again);
    }
}

Manifest load_manifest(const std::filesystem::path& path) {
    return parse_manifest(read_file(path), path.string());
}

std::vector<std::string> compiled_student_files(const Manifest& manifest) {
    std::vector<std::string> out;
    for (const auto& path : manifest.student) {
        std::string file = std::filesystem::path(path).filename().string();
        std::string compiled = path;
        // A bug-zoo build compiles the reference with the bug's patch applied (in the build dir),
        // so the reference file is the source the student-owned lines come from.
        if (manifest.impl == "solution" || !manifest.bug.empty()) {
            compiled = manifest.solution_dir + "/" + file;
        }
        out.push_back(compiled);
    }
    return out;
}

bool is_student_path(const Manifest& manifest, const std::string& relative_path) {
    std::filesystem::path p(relative_path);
    std::string file = p.filename().string();
    std::string parent = p.parent_path().string();
    for (const auto& s : manifest.student) {
        std::filesystem::path sp(s);
        if (sp.filename() != file) {
            continue;
        }
        if (parent == sp.parent_path().string() || parent == manifest.solution_dir) {
            return true;
        }
    }
    return false;
}

}  // namespace kit::grade
