// The lesson manifest Meson writes at configure time (<builddir>/kit/<lesson>.json), as kit-grade
// reads it.
#include "manifest.hpp"

#include <nlohmann/json.hpp>

#include "util.hpp"

namespace kit::grade {

using nlohmann::json;

Manifest parse_manifest(const std::string& text, const std::string& source) {
    try {
        json j = json::parse(text);
        Manifest m;
        m.name = j.at("name").get<std::string>();
        m.dir = j.at("dir").get<std::string>();
        m.impl = j.value("impl", "starter");
        m.variant = j.value("variant", "plain");
        m.bug = j.value("bug", "");
        m.student = j.value("student", std::vector<std::string>{});
        m.solution_dir = j.value("solution_dir", "solutions/" + m.name + "/src");
        for (const auto& it : j.at("items")) {
            Item item;
            item.name = it.at("name").get<std::string>();
            item.test = it.value("test", m.name + "." + item.name);
            item.task = it.value("task", "");
            item.filter = it.value("filter", "*");
            item.points = it.value("points", 0.0);
            item.visibility = it.value("visibility", "public");
            item.variants = it.value("variants", std::vector<std::string>{"plain", "asan", "tsan"});
            item.repeat = std::max(1, it.value("repeat", 1));
            item.timeout = it.value("timeout", 60.0);
            item.binary = it.value("binary", m.name + "-" + item.visibility + "-tests");
            item.present = it.value("present", true);
            m.items.push_back(std::move(item));
        }
        for (const auto& b : j.value("bugs", json::array())) {
            Bug bug;
            bug.name = b.value("name", "");
            bug.file = b.value("file", "");
            bug.items = b.value("items", std::vector<std::string>{});
            bug.variant = b.value("variant", "plain");
            bug.why = b.value("why", "");
            m.bugs.push_back(std::move(bug));
        }
        return m;
    } catch (const json::exception& e) {
        throw GradeError("the lesson manifest " + source + " is not valid (" + e.what() +
                         "); delete its build directory and grade again to regenerate it");
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
