// Text helpers both tools use on tool output and logs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kit {

// Splits text into lines without their "\n" (and a trailing "\r"); no empty line after a final
// "\n".
std::vector<std::string> split_lines(std::string_view text);

// Drops leading and trailing spaces, tabs, "\r" and "\n".
std::string trim(std::string_view text);

}  // namespace kit
