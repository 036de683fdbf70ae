// The lesson manifest Meson writes at configure time (<builddir>/kit/<lesson>.json), as kit-grade
// reads it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kit::grade {

// One graded item of the lesson declaration (lessons/<lesson>/meson.build).
struct Item {
    std::string name;    // "sum_of_squares"
    std::string test;    // meson test name, "lesson7.sum_of_squares"
    std::string task;    // "7.1"
    std::string filter;  // gtest filter
    double points = 0;
    std::string visibility;             // "public" or "hidden"
    std::vector<std::string> variants;  // variants the item must pass in
    int repeat = 1;                     // runs per variant; policy: all must pass
    double timeout = 60;                // declared ceiling in seconds
    std::string binary;                 // "lesson7-public-tests"
    bool present = true;                // false: its test sources are absent (student edition)
};

// One bug-zoo entry: a known-wrong student file that must lose the listed items.
struct Bug {
    std::string name;
    std::string file;
    std::vector<std::string> items;
    std::string variant;
    std::string why;
};

// The manifest format this kit-grade reads; kit/manifest.py writes the same number.
inline constexpr int manifest_format_version = 1;

struct Manifest {
    int format_version = manifest_format_version;
    std::string name;
    std::string dir;   // "lessons/lesson7"
    std::string impl;  // "starter" or "solution"
    std::string variant;
    std::string bug;
    std::vector<std::string> student;  // student-edition paths, relative to the repo root
    std::string solution_dir;
    std::vector<Item> items;
    std::vector<Bug> bugs;
    std::string declaration;              // "lessons/lesson7/meson.build"
    std::vector<std::string> tasks;       // every task of the items, sorted: "7.1", "7.2"
    std::vector<std::string> benchmarks;  // benchmark targets, "lesson7-bench-gil_chart"
    std::vector<std::string> apps;        // app targets, "lesson7-downloader"
};

// Parses a manifest file; throws GradeError saying which file is broken and how to regenerate it.
// Every key is required and format_version must match: there are no defaults here.
Manifest load_manifest(const std::filesystem::path& path);

// Parses manifest JSON text (source names the origin for error messages).
Manifest parse_manifest(const std::string& text, const std::string& source);

// The student-owned files this build actually compiles, relative to the repo root:
// the starter paths, the solution mirror (impl solution) or the bug-zoo replacement.
std::vector<std::string> compiled_student_files(const Manifest& manifest);

// True when a repo-relative path is a student-owned file of this lesson in any edition
// (starter, solution mirror or bug zoo), so that findings there are charged to the student.
bool is_student_path(const Manifest& manifest, const std::string& relative_path);

}  // namespace kit::grade
