// Shell quoting for the commands the grader prints so that a user can paste them.
#include "common/shell.hpp"

namespace kit {

std::string shell_quote(std::string_view word) {
    const auto safe = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
    };
    bool plain = !word.empty();
    for (const char c : word) {
        plain = plain && safe(c);
    }
    if (plain) {
        return std::string(word);
    }
    std::string out = "'";
    for (const char c : word) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out.push_back(c);
        }
    }
    out += "'";
    return out;
}

std::string shell_join(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& word : words) {
        if (!out.empty()) {
            out.push_back(' ');
        }
        out += shell_quote(word);
    }
    return out;
}

}  // namespace kit
