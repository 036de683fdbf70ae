// Small helpers for kit-grade: files, text escaping and path mapping. HMAC, secrets, shell quoting
// and JSON files come from grader/common.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.hpp"

namespace kit::grade {

using kit::split_lines;  // common/text.hpp
using kit::trim;

// A problem that stops grading (exit status 2); what() is one line saying what happened and what to
// do.
class GradeError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Reads a whole file; throws GradeError naming the path when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// Reads a whole file, or returns std::nullopt-like empty result: sets ok=false when it cannot be
// read.
std::string read_file_or_empty(const std::filesystem::path& path, bool* ok = nullptr);

// kit::write_file_atomic (common/json_io.hpp), reporting a failure as GradeError.
void write_file(const std::filesystem::path& path, std::string_view text);

// Splits on a delimiter, dropping empty pieces.
std::vector<std::string> split(std::string_view text, char delim);

bool starts_with(std::string_view text, std::string_view prefix);
bool ends_with(std::string_view text, std::string_view suffix);

// Escapes text for XML content and attributes, dropping characters XML 1.0 forbids.
std::string xml_escape(std::string_view text);

// Removes ANSI colour escape sequences.
std::string strip_ansi(std::string_view text);

// Keeps at most max_bytes of text (whole lines), noting how much was dropped.
std::string cap_text(std::string_view text, std::size_t max_bytes);

// Maps a path as printed by a compiler or sanitizer to a path relative to root when it lies inside
// root. Relative paths are taken relative to base (the build directory the compiler ran in).
// Returns the normalised path unchanged (absolute) when it is outside root.
std::string repo_relative(std::string_view printed, const std::filesystem::path& root,
                          const std::filesystem::path& base);

// Formats seconds as "1.2 s".
std::string format_seconds(double seconds);

// Formats points without trailing zeros ("10", "2.5").
std::string format_points(double points);

}  // namespace kit::grade
