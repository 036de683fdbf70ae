// Files and JSON for the grader: valid UTF-8, atomic writes, reads that never follow a link.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace kit {

// Returns `text` with every byte sequence that is not valid UTF-8 replaced by U+FFFD, so that
// nlohmann::json::dump() never throws on text that came from a student's program.
std::string valid_utf8(std::string_view text);

// Writes `content` to `path` through a uniquely named temporary file in the same directory
// (mkstemp) and rename(2), so a reader sees either the old file or the whole new one, and two
// writers never share a temporary. Creates missing parent directories. Throws std::runtime_error
// naming the path and the OS error when it cannot (the temporary is removed).
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Reads and parses a JSON file. Returns std::nullopt and sets `error` to a one-line reason
// (missing, unreadable, or not JSON, with the parser's position) instead of throwing.
std::optional<nlohmann::json> read_json_file(const std::filesystem::path& path, std::string& error);

// What a file read back from a directory a test could write to must be.
struct TrustedFile {
    std::optional<uid_t> owner;          // required owner, or any
    std::size_t max_bytes = 16U << 20U;  // longer files are cut here
};

// Reads `path` without following a symbolic link in its last component (O_NOFOLLOW), only when it
// is a regular file (fstat on the opened descriptor, so a swap after the check does not matter)
// owned by `rules.owner` when given. Returns std::nullopt and sets `error` to a one-line reason
// otherwise. Never blocks on a FIFO (O_NONBLOCK) and never throws.
std::optional<std::string> read_trusted_file(const std::filesystem::path& path,
                                             const TrustedFile& rules, std::string& error);

}  // namespace kit
