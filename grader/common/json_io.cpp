// JSON files for the grader: valid UTF-8, atomic writes, and the signed verdict format
// (nlohmann_json).
#include "common/json_io.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "common/hmac.hpp"

namespace kit {

std::string valid_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    static constexpr std::string_view replacement = "\xEF\xBF\xBD";
    std::size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t length = 0;
        unsigned min_code = 0;
        if (lead < 0x80U) {
            length = 1;
        } else if ((lead & 0xE0U) == 0xC0U) {
            length = 2;
            min_code = 0x80;
        } else if ((lead & 0xF0U) == 0xE0U) {
            length = 3;
            min_code = 0x800;
        } else if ((lead & 0xF8U) == 0xF0U) {
            length = 4;
            min_code = 0x10000;
        }
        bool ok = length > 0 && i + length <= text.size();
        unsigned code = length <= 1 ? lead : (lead & (0x3FU >> (length - 1)));
        for (std::size_t k = 1; ok && k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            ok = (next & 0xC0U) == 0x80U;
            code = (code << 6U) | (next & 0x3FU);
        }
        // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are invalid too.
        ok = ok && code >= min_code && code <= 0x10FFFF && (code < 0xD800 || code > 0xDFFF);
        if (ok) {
            out.append(text.substr(i, length));
            i += length;
        } else {
            out.append(replacement);
            ++i;
        }
    }
    return out;
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
    std::error_code ec;
    if (path.has_parent_path()) {
        std::filesystem::create_directories(path.parent_path(), ec);
        if (ec) {
            throw std::runtime_error("cannot create directory " + path.parent_path().string() +
                                     ": " + ec.message());
        }
    }
    std::filesystem::path tmp = path;
    tmp += ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        out.flush();
        if (!out) {
            throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
        }
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw std::runtime_error("cannot rename into " + path.string() + ": " + ec.message());
    }
}

std::optional<nlohmann::json> read_json_file(const std::filesystem::path& path,
                                             std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot open " + path.string() + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    try {
        return nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::parse_error& e) {
        error = path.string() + " is not valid JSON: " + e.what();
        return std::nullopt;
    }
}

std::string verdict_hmac(const nlohmann::json& verdict, std::string_view secret) {
    nlohmann::json copy = verdict;
    if (copy.is_object()) {
        copy.erase("hmac");
    }
    return hmac_sha256_hex(secret, copy.dump());
}

void sign_verdict(nlohmann::json& verdict, std::string_view secret) {
    verdict["hmac"] = secret.empty() ? std::string() : verdict_hmac(verdict, secret);
}

bool verify_verdict(const nlohmann::json& verdict, std::string_view secret) {
    if (!verdict.is_object() || !verdict.contains("hmac") || !verdict["hmac"].is_string()) {
        return false;
    }
    return constant_time_equal(verdict["hmac"].get<std::string>(), verdict_hmac(verdict, secret));
}

}  // namespace kit
