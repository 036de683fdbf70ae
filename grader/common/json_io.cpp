// Files and JSON for the grader: valid UTF-8, atomic writes, reads that never follow a link.
#include "common/json_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "common/spawn.hpp"

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
                                     ": " + ec.message() + " (check the permissions above it)");
        }
    }
    std::string tmp = path.string() + ".tmp.XXXXXX";
    Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (!fd.valid()) {
        throw std::runtime_error("cannot create a temporary file next to " + path.string() + ": " +
                                 std::strerror(errno));
    }
    const auto fail = [&](const std::string& what) {
        const std::string why = std::strerror(errno);
        std::filesystem::remove(tmp, ec);
        throw std::runtime_error(what + ": " + why + " (check free space and permissions)");
    };
    // mkstemp creates 0600; the reports are for everyone who may read the directory.
    if (::fchmod(fd.get(), 0644) != 0) {
        fail("cannot set the mode of " + tmp);
    }
    if (!write_all(fd.get(), content)) {
        fail("cannot write " + tmp);
    }
    fd.reset();
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

std::optional<std::string> read_trusted_file(const std::filesystem::path& path,
                                             const TrustedFile& rules, std::string& error) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) {
        error = path.string() + ": not read (" + std::strerror(errno) +
                (errno == ELOOP ? ": a symbolic link" : "") + ")";
        return std::nullopt;
    }
    struct stat info{};
    if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
        error = path.string() + ": not read (not a regular file)";
        return std::nullopt;
    }
    if (rules.owner && info.st_uid != *rules.owner) {
        error = path.string() + ": not read (owned by uid " + std::to_string(info.st_uid) +
                ", not by uid " + std::to_string(*rules.owner) + " that the test ran as)";
        return std::nullopt;
    }
    std::string text;
    std::array<char, 65536> buffer{};
    while (text.size() < rules.max_bytes) {
        const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        text.append(buffer.data(),
                    std::min(static_cast<std::size_t>(n), rules.max_bytes - text.size()));
    }
    return text;
}

}  // namespace kit
