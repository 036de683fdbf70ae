// Text helpers both tools use on tool output and logs.
#include "common/text.hpp"

namespace kit {

std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        end = end == std::string_view::npos ? text.size() : end;
        std::string_view line = text.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        lines.emplace_back(line);
        start = end + 1;
    }
    return lines;
}

std::string trim(std::string_view text) {
    const char* ws = " \t\r\n";
    const std::size_t b = text.find_first_not_of(ws);
    if (b == std::string_view::npos) {
        return {};
    }
    return std::string(text.substr(b, text.find_last_not_of(ws) - b + 1));
}

}  // namespace kit
