// Checks a test program's completion record (format in common/record_format.hpp) for kit-run.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kit {

// What kit-run expects of a run: the gtest filter and repeat count it passed on the command line.
struct RecordExpectation {
    std::string filter = "*";  // the effective --gtest_filter
    int iterations = 1;        // --gtest_repeat; a negative value accepts any count >= 1
};

// The outcome of checking one record.
struct RecordCheck {
    bool started = false;   // a valid start line: the test main read its key
    bool finished = false;  // a valid done line after complete iterations
    bool valid = true;      // false: a line was forged, out of order or malformed (see problem)
    bool success = false;   // finished, valid, the done line says 1, every case passed
    std::string problem;    // one line naming the first defect, empty when valid
    std::string open_case;  // the case that began but never ended (a crash, hang or exit in it)
    std::string last_case;  // the last case that ended
    int planned = 0;        // cases planned in the last iteration
    int iterations = 0;     // complete iterations
    std::vector<std::string> cases_passed;  // passed in every iteration, in first-seen order
    std::vector<std::string> cases_failed;  // failed or skipped in some iteration
};

// Verifies every line's MAC with `key`, the sequence numbers, the order of kinds, that each
// iteration's case lines match its plan, and that the plan's filter and the iteration count match
// `expect`. Never throws on any input; a record that is empty gives started == false.
RecordCheck check_record(std::string_view record, std::string_view key,
                         const RecordExpectation& expect);

// Percent-decodes a record field; returns false when a %XX escape is malformed.
bool percent_decode(std::string_view field, std::string& out);

}  // namespace kit
