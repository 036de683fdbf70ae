// Shell quoting for the commands the grader prints so that a user can paste them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kit {

// Returns `word` quoted for a POSIX shell: unchanged when it only holds safe characters
// ([A-Za-z0-9_@%+=:,./-]), otherwise in single quotes with each ' written as '\''.
std::string shell_quote(std::string_view word);

// Joins shell_quote() of every word with single spaces.
std::string shell_join(const std::vector<std::string>& words);

}  // namespace kit
