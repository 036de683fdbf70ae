// Checks a test program's completion record (format in common/record_format.hpp) for kit-run.
#include "run/record.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>

#include "common/hmac.hpp"
#include "common/record_format.hpp"

namespace kit {
namespace {

std::vector<std::string_view> split_spaces(std::string_view line) {
    std::vector<std::string_view> words;
    std::size_t pos = 0;
    while (pos <= line.size()) {
        const std::size_t space = line.find(' ', pos);
        const std::size_t end = space == std::string_view::npos ? line.size() : space;
        words.push_back(line.substr(pos, end - pos));
        if (space == std::string_view::npos) {
            break;
        }
        pos = space + 1;
    }
    return words;
}

std::optional<long long> to_number(std::string_view text) {
    long long value = 0;
    const auto* end = text.data() + text.size();
    const auto result = std::from_chars(text.data(), end, value);
    if (text.empty() || result.ec != std::errc() || result.ptr != end) {
        return std::nullopt;
    }
    return value;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

// The state machine over the record's lines; each method returns an empty string or a problem.
class Checker {
  public:
    Checker(std::string_view key, const RecordExpectation& expect) : key_(key), expect_(expect) {}

    void feed(std::string_view line, std::size_t number) {
        if (!check_.valid) {
            return;
        }
        std::string problem = check_line(line);
        if (!problem.empty()) {
            check_.valid = false;
            check_.problem = "line " + std::to_string(number) + ": " + problem;
        }
    }

    RecordCheck finish() {
        if (check_.valid && check_.finished && !done_ok_) {
            // The done line says GoogleTest failed even though no case failed: a failure outside
            // any test (a global environment, a static destructor) or a fixture error.
            if (failed_.empty()) {
                check_.problem = "GoogleTest reported a failure outside the test cases";
            }
        }
        for (const auto& name : order_) {
            if (failed_.count(name) != 0) {
                check_.cases_failed.push_back(name);
            } else {
                check_.cases_passed.push_back(name);
            }
        }
        check_.success = check_.valid && check_.finished && done_ok_ && failed_.empty();
        return check_;
    }

  private:
    std::string check_line(std::string_view line) {
        const std::size_t last_space = line.rfind(' ');
        if (last_space == std::string_view::npos) {
            return "not a record line";
        }
        const std::string_view body = line.substr(0, last_space);
        const std::string_view mac = line.substr(last_space + 1);
        if (!constant_time_equal(mac, hmac_sha256_hex(key_, body))) {
            return "bad signature (something other than the test main wrote to the record)";
        }
        const auto words = split_spaces(body);
        if (words.size() < 3 || words[0] != record::magic) {
            return "signed line with an unknown layout";
        }
        const auto seq = to_number(words[1]);
        if (!seq || *seq != next_seq_) {
            return "sequence number " + std::string(words[1]) + " where " +
                   std::to_string(next_seq_) + " was due (lines lost or replayed)";
        }
        ++next_seq_;
        const std::string_view kind = words[2];
        const std::vector<std::string_view> args(words.begin() + 3, words.end());
        if (check_.finished) {
            return "a line after the done line";
        }
        if (kind == "start") {
            return on_start(args);
        }
        if (!check_.started) {
            return "the record does not begin with a start line";
        }
        if (kind == "plan") {
            return on_plan(args);
        }
        if (kind == "begin") {
            return on_begin(args);
        }
        if (kind == "case") {
            return on_case(args);
        }
        if (kind == "done") {
            return on_done(args);
        }
        return "unknown line kind '" + std::string(kind) + "'";
    }

    std::string on_start(const std::vector<std::string_view>& args) {
        if (check_.started || args.size() != 1) {
            return "a second or malformed start line";
        }
        check_.started = true;
        return {};
    }

    std::string on_plan(const std::vector<std::string_view>& args) {
        if (in_iteration_) {
            return "a plan line before the previous iteration ended";
        }
        if (args.size() != 3) {
            return "a malformed plan line";
        }
        const auto iteration = to_number(args[0]);
        const auto count = to_number(args[1]);
        std::string filter;
        if (!iteration || !count || *count < 0 || !percent_decode(args[2], filter)) {
            return "a malformed plan line";
        }
        if (*iteration != check_.iterations) {
            return "iteration " + std::string(args[0]) + " out of order";
        }
        if (filter != expect_.filter) {
            return "the tests ran with gtest filter '" + filter + "' instead of '" +
                   expect_.filter + "' (something changed the filter)";
        }
        if (*count == 0) {
            return "the filter '" + filter + "' selected no test";
        }
        check_.planned = static_cast<int>(*count);
        ended_ = 0;
        seen_.clear();
        in_iteration_ = true;
        return {};
    }

    std::string on_begin(const std::vector<std::string_view>& args) {
        std::string name;
        if (args.size() != 2 || !in_iteration_ || !check_.open_case.empty() ||
            to_number(args[0]) != check_.iterations || !percent_decode(args[1], name)) {
            return "a begin line out of place";
        }
        if (seen_.count(name) != 0) {
            return "case " + name + " ran twice in one iteration";
        }
        check_.open_case = name;
        return {};
    }

    std::string on_case(const std::vector<std::string_view>& args) {
        std::string name;
        if (args.size() != 3 || !in_iteration_ || to_number(args[0]) != check_.iterations ||
            !percent_decode(args[1], name) || name != check_.open_case) {
            return "a case line that does not close the case that began";
        }
        const std::string_view result = args[2];
        if (result != "pass" && result != "fail" && result != "skip") {
            return "a case line with result '" + std::string(result) + "'";
        }
        if (std::find(order_.begin(), order_.end(), name) == order_.end()) {
            order_.push_back(name);
        }
        if (result != "pass") {
            failed_.insert(name);
        }
        seen_.insert(name);
        check_.open_case.clear();
        check_.last_case = name;
        if (++ended_ == check_.planned) {
            in_iteration_ = false;
            ++check_.iterations;
        }
        return {};
    }

    std::string on_done(const std::vector<std::string_view>& args) {
        const auto iterations = args.size() == 2 ? to_number(args[0]) : std::nullopt;
        if (!iterations || (args[1] != "1" && args[1] != "0")) {
            return "a malformed done line";
        }
        if (in_iteration_) {
            return "the done line came before iteration " + std::to_string(check_.iterations) +
                   " ran all " + std::to_string(check_.planned) + " planned cases";
        }
        if (*iterations != check_.iterations || check_.iterations == 0) {
            return "the done line counts " + std::string(args[0]) + " iterations, the record " +
                   std::to_string(check_.iterations);
        }
        if (expect_.iterations >= 0 && check_.iterations != expect_.iterations) {
            return "ran " + std::to_string(check_.iterations) + " iterations instead of " +
                   std::to_string(expect_.iterations) + " (something changed --gtest_repeat)";
        }
        done_ok_ = args[1] == "1";
        check_.finished = true;
        return {};
    }

    std::string_view key_;
    const RecordExpectation& expect_;
    RecordCheck check_;
    long long next_seq_ = 0;
    bool in_iteration_ = false;
    bool done_ok_ = false;
    int ended_ = 0;
    std::set<std::string> seen_;
    std::set<std::string> failed_;
    std::vector<std::string> order_;
};

}  // namespace

bool percent_decode(std::string_view field, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] != '%') {
            out.push_back(field[i]);
            continue;
        }
        if (i + 2 >= field.size()) {
            return false;
        }
        const int high = hex_value(field[i + 1]);
        const int low = hex_value(field[i + 2]);
        if (high < 0 || low < 0) {
            return false;
        }
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
    }
    return true;
}

RecordCheck check_record(std::string_view record, std::string_view key,
                         const RecordExpectation& expect) {
    Checker checker(key, expect);
    std::size_t number = 1;
    std::size_t pos = 0;
    while (pos < record.size()) {
        const std::size_t newline = record.find('\n', pos);
        if (newline == std::string_view::npos) {
            checker.feed(record.substr(pos), number);  // a torn last line fails its signature
            break;
        }
        checker.feed(record.substr(pos, newline - pos), number);
        pos = newline + 1;
        ++number;
    }
    return checker.finish();
}

}  // namespace kit
