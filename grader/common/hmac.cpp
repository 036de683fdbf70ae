// HMAC-SHA256 and random keys for the grader's signed verdicts and completion records (OpenSSL).
// The test main (lessons/common/test_main.cpp) compiles this file too, so the record's signer and
// kit-run's checker are one piece of code.
#include "hmac.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <stdexcept>
#include <vector>

namespace kit {
namespace {

std::string hex_of(const unsigned char* data, std::size_t size) {
    static constexpr std::string_view digits = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(digits[data[i] >> 4U]);
        out.push_back(digits[data[i] & 0x0FU]);
    }
    return out;
}

}  // namespace

std::string to_hex(std::string_view bytes) {
    return hex_of(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int mac_size = 0;
    // OpenSSL wants a non-null key pointer even for an empty key.
    static constexpr unsigned char empty = 0;
    const auto* key_bytes =
        key.empty() ? &empty : reinterpret_cast<const unsigned char*>(key.data());
    const auto* data_bytes = reinterpret_cast<const unsigned char*>(data.data());
    if (HMAC(EVP_sha256(), key_bytes, static_cast<int>(key.size()), data_bytes, data.size(),
             mac.data(), &mac_size) == nullptr) {
        throw std::runtime_error(
            "kit: HMAC-SHA256 failed inside OpenSSL; reinstall libssl "
            "(ci/install-deps)");
    }
    return hex_of(mac.data(), mac_size);
}

std::string sha256_hex(std::string_view data) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md.data());
    return hex_of(md.data(), md.size());
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_hex(std::size_t bytes) {
    std::vector<unsigned char> buffer(bytes);
    if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1) {
        throw std::runtime_error(
            "kit: the OpenSSL random generator failed: the system has no entropy source");
    }
    std::string hex = hex_of(buffer.data(), buffer.size());
    OPENSSL_cleanse(buffer.data(), buffer.size());
    return hex;
}

bool is_hex(std::string_view text, std::size_t length) noexcept {
    if (text.size() != length) {
        return false;
    }
    for (const char c : text) {
        const bool digit =
            (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!digit) {
            return false;
        }
    }
    return true;
}

}  // namespace kit
