// JSON files for the grader: valid UTF-8, atomic writes, and the signed verdict format
// (nlohmann_json).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace kit {

// Returns `text` with every byte sequence that is not valid UTF-8 replaced by U+FFFD, so that
// nlohmann::json::dump() never throws on text that came from a student's program.
std::string valid_utf8(std::string_view text);

// Writes `content` to `path` through a temporary file in the same directory and rename(2), so a
// reader sees either the old file or the whole new one. Creates missing parent directories.
// Throws std::runtime_error naming the path and the OS error when it cannot.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Reads and parses a JSON file. Returns std::nullopt and sets `error` to a one-line reason
// (missing, unreadable, or not JSON, with the parser's position) instead of throwing.
std::optional<nlohmann::json> read_json_file(const std::filesystem::path& path, std::string& error);

// The signature of a verdict: HMAC-SHA256(secret, canonical) in lowercase hex, where canonical is
// nlohmann::json::dump() (no indent, keys sorted as nlohmann's std::map objects sort them) of
// `verdict` without its "hmac" member. `verdict` is not modified.
std::string verdict_hmac(const nlohmann::json& verdict, std::string_view secret);

// Adds or replaces verdict["hmac"] with verdict_hmac(verdict, secret); an empty secret writes "".
void sign_verdict(nlohmann::json& verdict, std::string_view secret);

// True when verdict["hmac"] is a string equal (in constant time) to verdict_hmac(verdict, secret).
bool verify_verdict(const nlohmann::json& verdict, std::string_view secret);

}  // namespace kit
