// What kit-grade's phases share: the pass's helpers and the overlay's temporary tree.
#include "pipeline.hpp"

#include <stdlib.h>  // NOLINT(modernize-deprecated-headers): mkdtemp is POSIX, not in <cstdlib>

#include <algorithm>

#include "util.hpp"

namespace kit::grade {

namespace fs = std::filesystem;

double since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string first_error_line(const std::string& text) {
    for (const auto& l : split_lines(text)) {
        if (l.find("ERROR:") != std::string::npos || l.find("error:") != std::string::npos) {
            return trim(l);
        }
    }
    auto lines = split_lines(trim(text));
    return lines.empty() ? "(no output)" : lines.back();
}

TempTree TempTree::create(const std::string& prefix) {
    std::string tmpl = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw GradeError("cannot create a temporary directory for the overlay tree in " +
                         fs::temp_directory_path().string() + ": check its free space");
    }
    TempTree tree;
    tree.path_ = tmpl;
    return tree;
}

TempTree::~TempTree() {
    if (!path_.empty() && !keep_) {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
}

TempTree::TempTree(TempTree&& other) noexcept
    : path_(std::exchange(other.path_, {})), keep_(other.keep_) {}

TempTree& TempTree::operator=(TempTree&& other) noexcept {
    if (this != &other) {
        if (!path_.empty() && !keep_) {
            std::error_code ec;
            fs::remove_all(path_, ec);
        }
        path_ = std::exchange(other.path_, {});
        keep_ = other.keep_;
    }
    return *this;
}

bool Pass::selected(const Item& item) const {
    return opt.only.empty() ||
           std::find(opt.only.begin(), opt.only.end(), item.name) != opt.only.end();
}

bool Pass::required(const Item& item, const std::string& variant) const {
    return std::find(item.variants.begin(), item.variants.end(), variant) != item.variants.end();
}

SourceMap Pass::source_map(const fs::path& base) const {
    const Manifest& m = prep.manifest;
    return SourceMap{prep.src, base, [&m](const std::string& p) { return is_student_path(m, p); }};
}

}  // namespace kit::grade
