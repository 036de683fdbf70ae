// Small helpers for kit-grade: files, hex, HMAC, random secrets, text escaping and path mapping.
#include "util.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <system_error>

namespace kit::grade {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
    bool ok = false;
    std::string text = read_file_or_empty(path, &ok);
    if (!ok) {
        throw GradeError("cannot read " + path.string() + ": check that it exists and is readable");
    }
    return text;
}

std::string read_file_or_empty(const fs::path& path, bool* ok) {
    std::ifstream in(path, std::ios::binary);
    if (ok != nullptr) {
        *ok = static_cast<bool>(in);
    }
    if (!in) {
        return {};
    }
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void write_file(const fs::path& path, std::string_view text) {
    std::error_code ec;
    if (path.has_parent_path()) {
        fs::create_directories(path.parent_path(), ec);
    }
    fs::path tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        if (!out) {
            throw GradeError("cannot write " + tmp.string() + ": check free space and permissions");
        }
    }
    fs::rename(tmp, path, ec);
    if (ec) {
        throw GradeError("cannot rename " + tmp.string() + " to " + path.string() + ": " +
                         ec.message());
    }
}

std::string to_hex(std::string_view bytes) {
    static constexpr std::string_view digits = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4U];
        out += digits[c & 15U];
    }
    return out;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    const unsigned char* result = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                                       reinterpret_cast<const unsigned char*>(message.data()),
                                       message.size(), md.data(), &len);
    if (result == nullptr) {
        throw GradeError("OpenSSL HMAC failed; reinstall libssl (ci/install-deps)");
    }
    return to_hex(std::string_view(reinterpret_cast<const char*>(md.data()), len));
}

std::string sha256_hex(std::string_view data) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md.data());
    return to_hex(std::string_view(reinterpret_cast<const char*>(md.data()), md.size()));
}

bool equal_constant_time(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_secret_hex() {
    std::array<unsigned char, 32> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw GradeError("OpenSSL RAND_bytes failed: the system has no entropy source available");
    }
    std::string hex =
        to_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return hex;
}

std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        std::string_view line = text.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        lines.emplace_back(line);
        start = end + 1;
    }
    return lines;
}

std::vector<std::string> split(std::string_view text, char delim) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find(delim, start);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        std::string piece = trim(text.substr(start, end - start));
        if (!piece.empty()) {
            out.push_back(piece);
        }
        start = end + 1;
    }
    return out;
}

std::string trim(std::string_view text) {
    const char* ws = " \t\r\n";
    std::size_t b = text.find_first_not_of(ws);
    if (b == std::string_view::npos) {
        return {};
    }
    std::size_t e = text.find_last_not_of(ws);
    return std::string(text.substr(b, e - b + 1));
}

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.starts_with(prefix);
}
bool ends_with(std::string_view text, std::string_view suffix) {
    return text.ends_with(suffix);
}

std::string mask_addresses(std::string_view text) {
    static const std::regex hex("0x[0-9a-fA-F]+");
    static const std::regex pid("(pid|tid)=[0-9]+");
    std::string out = std::regex_replace(std::string(text), hex, "0x...");
    return std::regex_replace(out, pid, "$1=...");
}

std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        switch (ch) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                // XML 1.0 forbids most control characters even when escaped.
                if (c < 0x20 && ch != '\n' && ch != '\t' && ch != '\r') {
                    out += '?';
                } else {
                    out += ch;
                }
        }
    }
    return out;
}

std::string strip_ansi(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
            i += 2;
            while (i < text.size() && (std::isalpha(static_cast<unsigned char>(text[i])) == 0)) {
                ++i;
            }
            continue;
        }
        out += text[i];
    }
    return out;
}

std::string cap_text(std::string_view text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) {
        return std::string(text);
    }
    std::size_t cut = text.rfind('\n', max_bytes);
    if (cut == std::string_view::npos || cut == 0) {
        cut = max_bytes;
    }
    return std::string(text.substr(0, cut)) + "\n[... " + std::to_string(text.size() - cut) +
           " more bytes left out ...]\n";
}

std::string repo_relative(std::string_view printed, const fs::path& root, const fs::path& base) {
    if (printed.empty()) {
        return {};
    }
    fs::path p(printed);
    if (p.is_relative()) {
        p = base / p;
    }
    p = p.lexically_normal();
    fs::path r = root.lexically_normal();
    std::string ps = p.string();
    std::string rs = r.string();
    if (!rs.empty() && rs.back() != '/') {
        rs += '/';
    }
    if (ps.starts_with(rs)) {
        return ps.substr(rs.size());
    }
    return ps;
}

std::string shell_quote(std::string_view word) {
    bool plain = !word.empty();
    for (char c : word) {
        if ((std::isalnum(static_cast<unsigned char>(c)) == 0) &&
            std::string_view("-_./=:,+@%").find(c) == std::string_view::npos) {
            plain = false;
        }
    }
    if (plain) {
        return std::string(word);
    }
    std::string out = "'";
    for (char c : word) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

std::string format_seconds(double seconds) {
    std::array<char, 32> buf{};
    static_cast<void>(
        std::snprintf(buf.data(), buf.size(), seconds < 10 ? "%.1f s" : "%.0f s", seconds));
    return buf.data();
}

std::string format_points(double points) {
    std::array<char, 32> buf{};
    static_cast<void>(std::snprintf(buf.data(), buf.size(), "%.2f", points));
    std::string s = buf.data();
    while (s.find('.') != std::string::npos && (s.back() == '0' || s.back() == '.')) {
        bool dot = s.back() == '.';
        s.pop_back();
        if (dot) {
            break;
        }
    }
    return s;
}

}  // namespace kit::grade
