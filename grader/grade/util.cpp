// Small helpers for kit-grade: files, text escaping and path mapping.
#include "util.hpp"

#include <array>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <system_error>

#include "common/json_io.hpp"

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
    try {
        write_file_atomic(path, text);
    } catch (const std::runtime_error& e) {
        throw GradeError(e.what());
    }
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

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.starts_with(prefix);
}
bool ends_with(std::string_view text, std::string_view suffix) {
    return text.ends_with(suffix);
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
