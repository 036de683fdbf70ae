// Small helpers for kit-grade: files, hex, HMAC, random secrets, text escaping and path mapping.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kit::grade {

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

// Writes a file through a temporary sibling and rename, creating parent directories; throws
// GradeError.
void write_file(const std::filesystem::path& path, std::string_view text);

// Lowercase hex of bytes.
std::string to_hex(std::string_view bytes);

// HMAC-SHA256 of message with key (raw bytes), as lowercase hex.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// SHA-256 of data, as lowercase hex.
std::string sha256_hex(std::string_view data);

// Constant-time comparison of two strings (length leaks, content does not).
bool equal_constant_time(std::string_view a, std::string_view b);

// 32 bytes from OpenSSL's RAND_bytes as 64 lowercase hex characters; throws GradeError if the RNG
// fails.
std::string random_secret_hex();

// Splits text into lines (without the newline characters).
std::vector<std::string> split_lines(std::string_view text);

// Splits on a delimiter, dropping empty pieces.
std::vector<std::string> split(std::string_view text, char delim);

std::string trim(std::string_view text);
bool starts_with(std::string_view text, std::string_view prefix);
bool ends_with(std::string_view text, std::string_view suffix);

// Replaces hexadecimal addresses (0x...) and pids so that the same bug gives the same message every
// run.
std::string mask_addresses(std::string_view text);

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

// Quotes one shell word so that it can be pasted into bash.
std::string shell_quote(std::string_view word);

// Formats seconds as "1.2 s".
std::string format_seconds(double seconds);

// Formats points without trailing zeros ("10", "2.5").
std::string format_points(double points);

}  // namespace kit::grade
