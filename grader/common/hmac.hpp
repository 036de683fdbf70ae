// HMAC-SHA256 and random keys for the grader's signed verdicts and completion records (OpenSSL).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kit {

// Returns HMAC-SHA256(key, data) as 64 lowercase hex digits. The key is used as the raw bytes of
// `key` exactly as given: a secret passed as 64 hex characters (KIT_RUN_SECRET) is NOT hex-decoded
// first, its 64 ASCII characters are the key. Thread-safe. Throws std::runtime_error if OpenSSL
// fails.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// SHA-256 of `data` as 64 lowercase hex digits (cache keys and finding signatures).
std::string sha256_hex(std::string_view data);

// Lowercase hex of raw bytes.
std::string to_hex(std::string_view bytes);

// Compares two strings in time that depends only on their lengths (CRYPTO_memcmp; for MACs).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// Returns `bytes` bytes from OpenSSL's CSPRNG as 2*bytes lowercase hex digits (the raw bytes are
// wiped). Throws std::runtime_error when the generator fails. Run secrets and record keys are
// random_hex(32).
std::string random_hex(std::size_t bytes);

// True when `text` is exactly `length` characters, all lowercase or uppercase hex digits.
bool is_hex(std::string_view text, std::size_t length) noexcept;

}  // namespace kit
