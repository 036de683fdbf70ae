// Hidden stays hidden (see hidden.hpp).
#include "hidden.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "util.hpp"

namespace kit::grade {

namespace fs = std::filesystem;

namespace {

std::string trim(std::string_view text) {
    const std::size_t begin = text.find_first_not_of(" \t\r");
    if (begin == std::string_view::npos) {
        return {};
    }
    const std::size_t end = text.find_last_not_of(" \t\r");
    return std::string(text.substr(begin, end - begin + 1));
}

std::vector<std::string> source_lines(const fs::path& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_regular_file(ec)) {
            for (const auto& line : split_lines(read_file_or_empty(it->path()))) {
                out.push_back(trim(line));
            }
        }
    }
    return out;
}

void lock_down(const fs::path& path, std::vector<std::string>& done) {
    std::error_code ec;
    if (fs::is_directory(path, ec) && ::chown(path.c_str(), 0, 0) == 0 &&
        ::chmod(path.c_str(), 0700) == 0) {
        done.push_back(path.filename().string());
    }
}

}  // namespace

std::string hide_from_tests(const Options& opt, const Prepared& prep) {
    if (opt.pristine.empty() || ::geteuid() != 0) {
        return {};
    }
    std::vector<std::string> done;
    lock_down(prep.src / "solutions", done);
    lock_down(prep.src / prep.manifest.dir / "tests" / "hidden", done);
    for (const auto& st : prep.states) {
        std::error_code ec;
        for (fs::recursive_directory_iterator it(st.dir, ec), end; !ec && it != end;
             it.increment(ec)) {
            if (it->is_directory(ec) && ends_with(it->path().filename().string(), ".p")) {
                lock_down(it->path(), done);
                it.disable_recursion_pending();
            }
        }
    }
    return done.empty() ? std::string()
                        : "the tests ran without read access to solutions/, the hidden tests and "
                          "the compiled objects (" +
                              std::to_string(done.size()) + " folders made 0700 root)";
}

std::vector<std::string> hidden_lines(const fs::path& src, const std::string& dir) {
    const auto visible = source_lines(src / dir / "tests" / "public");
    const std::set<std::string> seen(visible.begin(), visible.end());
    std::set<std::string> out;
    for (auto& line : source_lines(src / dir / "tests" / "hidden")) {
        if (line.size() >= 16 && seen.count(line) == 0) {
            out.insert(std::move(line));
        }
    }
    return {out.begin(), out.end()};
}

std::string redact_hidden(const std::string& text, const std::vector<std::string>& hidden) {
    if (hidden.empty()) {
        return text;
    }
    std::string out;
    for (const auto& line : split_lines(text)) {
        const bool leaks = std::any_of(hidden.begin(), hidden.end(), [&](const std::string& h) {
            return line.find(h) != std::string::npos;
        });
        out += leaks ? std::string(
                           "[kit-grade: a line of a hidden test source was removed here: "
                           "a public item's output never shows the hidden tests]")
                     : line;
        out += "\n";
    }
    return out;
}

}  // namespace kit::grade
