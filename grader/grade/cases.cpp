// Expected case lists: TEST(...) declarations in the graded tree's test sources, matched with the
// items' gtest filters, and the comparison with what a run's signed record lists.
#include "cases.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <regex>
#include <set>

#include "util.hpp"

namespace kit::grade {

namespace fs = std::filesystem;

namespace {

// The source with comments and the contents of string and character literals (raw strings too)
// replaced by spaces, so that a TEST( inside them is not read as a declaration.
std::string code_only(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const char c = s[i];
        const char next = i + 1 < s.size() ? s[i + 1] : '\0';
        if (c == '/' && next == '/') {
            while (i < s.size() && s[i] != '\n') {
                ++i;
            }
            out += ' ';
        } else if (c == '/' && next == '*') {
            const std::size_t end = s.find("*/", i + 2);
            i = end == std::string_view::npos ? s.size() : end + 2;
            out += ' ';
        } else if (c == 'R' && next == '"' &&
                   (i == 0 ||
                    (std::isalnum(static_cast<unsigned char>(s[i - 1])) == 0 && s[i - 1] != '_'))) {
            const std::size_t open = s.find('(', i + 2);
            if (open == std::string_view::npos) {
                break;
            }
            const std::string close = ")" + std::string(s.substr(i + 2, open - i - 2)) + "\"";
            const std::size_t end = s.find(close, open + 1);
            i = end == std::string_view::npos ? s.size() : end + close.size();
            out += "\"\"";
        } else if (c == '"' || c == '\'') {
            ++i;
            while (i < s.size() && s[i] != c && s[i] != '\n') {
                i += s[i] == '\\' ? 2 : 1;
            }
            ++i;
            out += "\"\"";
        } else {
            out += c;
            ++i;
        }
    }
    return out;
}

// One gtest pattern ('*' and '?') against a name, iteratively with backtracking to the last '*'.
bool glob_matches(std::string_view pattern, std::string_view name) {
    std::size_t p = 0;
    std::size_t n = 0;
    std::size_t star = std::string_view::npos;
    std::size_t mark = 0;
    while (n < name.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
            ++p;
            ++n;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = n;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            n = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') {
        ++p;
    }
    return p == pattern.size();
}

bool any_pattern(std::string_view patterns, std::string_view name) {
    while (true) {
        const std::size_t colon = patterns.find(':');
        if (glob_matches(patterns.substr(0, colon), name)) {
            return true;
        }
        if (colon == std::string_view::npos) {
            return false;
        }
        patterns.remove_prefix(colon + 1);
    }
}

std::string some(const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < 3; ++i) {
        out += (i == 0 ? "" : ", ") + names[i];
    }
    if (names.size() > 3) {
        out += " and " + std::to_string(names.size() - 3) + " more";
    }
    return out;
}

}  // namespace

std::vector<std::string> declared_cases(std::string_view source) {
    static const std::regex test_macro(R"(\bTEST\s*\(\s*(\w+)\s*,\s*(\w+)\s*\))");
    const std::string code = code_only(source);
    std::vector<std::string> out;
    for (std::sregex_iterator it(code.begin(), code.end(), test_macro), end; it != end; ++it) {
        const std::string suite = (*it)[1];
        const std::string name = (*it)[2];
        if (!starts_with(suite, "DISABLED_") && !starts_with(name, "DISABLED_")) {
            out.push_back(suite);
            out.back().append(".").append(name);
        }
    }
    return out;
}

bool filter_selects(std::string_view filter, std::string_view name) {
    const std::size_t dash = filter.find('-');
    const std::string_view positive = filter.substr(0, dash);
    if (!positive.empty() && !any_pattern(positive, name)) {
        return false;
    }
    return dash == std::string_view::npos || !any_pattern(filter.substr(dash + 1), name);
}

std::map<std::string, std::vector<std::string>> expected_cases(const Manifest& manifest,
                                                               const fs::path& tree) {
    std::map<std::string, std::vector<std::string>> cases_of;  // visibility -> cases
    std::map<std::string, std::vector<std::string>> out;
    for (const Item& item : manifest.items) {
        if (!item.present) {
            continue;
        }
        if (cases_of.count(item.visibility) == 0) {
            std::vector<std::string>& all = cases_of[item.visibility];
            const fs::path dir = tree / manifest.dir / "tests" / item.visibility;
            std::error_code ec;
            std::vector<fs::path> sources;
            for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
                if (it->path().extension() == ".cpp") {
                    sources.push_back(it->path());
                }
            }
            if (ec) {
                throw GradeError("cannot list the test sources in " + dir.string() + ": " +
                                 ec.message() +
                                 "; the grader reads each item's cases there (is the tree whole?)");
            }
            std::sort(sources.begin(), sources.end());
            for (const auto& src : sources) {
                const auto found = declared_cases(read_file(src));
                all.insert(all.end(), found.begin(), found.end());
            }
        }
        std::vector<std::string>& mine = out[item.name];
        for (const auto& c : cases_of[item.visibility]) {
            if (filter_selects(item.filter, c)) {
                mine.push_back(c);
            }
        }
        std::sort(mine.begin(), mine.end());
    }
    return out;
}

std::string case_list_problem(const std::vector<std::string>& expected,
                              const std::vector<std::string>& passed,
                              const std::vector<std::string>& failed) {
    const std::set<std::string> want(expected.begin(), expected.end());
    std::set<std::string> have(passed.begin(), passed.end());
    have.insert(failed.begin(), failed.end());
    std::vector<std::string> missing;
    std::vector<std::string> extra;
    std::set_difference(want.begin(), want.end(), have.begin(), have.end(),
                        std::back_inserter(missing));
    std::set_difference(have.begin(), have.end(), want.begin(), want.end(),
                        std::back_inserter(extra));
    if (missing.empty() && extra.empty()) {
        return {};
    }
    std::string out = "the signed record does not list the item's " + std::to_string(want.size()) +
                      " cases from the test sources:";
    if (!missing.empty()) {
        out += " missing " + some(missing);
    }
    if (!extra.empty()) {
        out += std::string(missing.empty() ? "" : ";") + " not the item's: " + some(extra);
    }
    return out + " (the test binary ran other cases than its sources declare)";
}

}  // namespace kit::grade
