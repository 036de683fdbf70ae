// The one grammar of sanitizer logs (ASan, LSan, UBSan, TSan).
#include "common/sanitizer_log.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

#include "common/text.hpp"

namespace kit {
namespace {

// Splits "file:line[:col]"; false when there is no line number.
bool split_location(std::string_view loc, std::string& file, int& line) {
    std::vector<std::string_view> nums;
    std::string_view rest = loc;
    for (int i = 0; i < 2; ++i) {
        const std::size_t colon = rest.rfind(':');
        if (colon == std::string_view::npos) {
            break;
        }
        const std::string_view tail = rest.substr(colon + 1);
        if (tail.empty() ||
            !std::all_of(tail.begin(), tail.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            break;
        }
        nums.insert(nums.begin(), tail);
        rest = rest.substr(0, colon);
    }
    if (nums.empty()) {
        return false;
    }
    file = std::string(rest);
    line = std::stoi(std::string(nums.front()));
    return true;
}

// One "#N ..." frame line; false when the line is not a frame.
bool parse_frame_line(const std::string& raw, LogFrame& out) {
    const std::string line = trim(raw);
    if (line.size() < 2 || line[0] != '#' ||
        std::isdigit(static_cast<unsigned char>(line[1])) == 0) {
        return false;
    }
    const std::size_t sp = line.find(' ');
    if (sp == std::string::npos) {
        return false;
    }
    std::string rest = trim(line.substr(sp + 1));
    out = LogFrame{};
    // ASan/UBSan/LSan: "0xADDR in FUNCTION LOCATION"; TSan: "FUNCTION LOCATION (module+0xoff)".
    if (rest.rfind("0x", 0) == 0) {
        const std::size_t in = rest.find(" in ");
        if (in == std::string::npos) {
            return true;
        }
        rest = rest.substr(in + 4);
    } else if (!rest.empty() && rest.back() == ')') {
        const std::size_t open = rest.rfind(" (");
        if (open != std::string::npos) {
            rest = rest.substr(0, open);
        }
    }
    const std::size_t last = rest.rfind(' ');
    out.function = last == std::string::npos ? rest : rest.substr(0, last);
    const std::string loc = last == std::string::npos ? "" : rest.substr(last + 1);
    if (!loc.empty() && loc.front() != '(' && loc != "<null>" &&
        !split_location(loc, out.file, out.line)) {
        out.file.clear();
    }
    return true;
}

std::string kind_slug(std::string kind) {
    kind = trim(kind);
    std::replace(kind.begin(), kind.end(), ' ', '-');
    return kind;
}

bool is_error_line(const std::string& line) {
    for (const std::string_view marker :
         {"ERROR: ", "WARNING: ThreadSanitizer", "runtime error:", "SUMMARY: "}) {
        if (line.find(marker) != std::string::npos) {
            return true;
        }
    }
    return false;
}

// "==123==ERROR: AddressSanitizer: ..." -> "AddressSanitizer: ..."
std::string headline_of(std::string line) {
    if (line.rfind("==", 0) == 0) {
        const std::size_t end = line.find("==", 2);
        line = end == std::string::npos ? line : line.substr(end + 2);
    }
    for (const std::string_view prefix : {"ERROR: ", "WARNING: "}) {
        if (line.rfind(prefix, 0) == 0) {
            line = line.substr(prefix.size());
        }
    }
    return line.substr(0, 200);
}

// Folds a detail line ("Write of size 4 at 0x... by thread T1:") into the report's message.
void add_detail(SanitizerReport& report, const std::string& t) {
    std::string detail = t;
    if (const std::size_t at = detail.find(" at 0x"); at != std::string::npos) {
        const std::size_t cut = std::min(detail.find(" by ", at), detail.find(" thread ", at));
        detail = detail.substr(0, at) + (cut == std::string::npos ? "" : detail.substr(cut));
    }
    if (!detail.empty() && detail.back() == ':') {
        detail.pop_back();
    }
    if (report.tool == "tsan" && report.kind == "lock-order-inversion") {
        report.message =
            "lock-order inversion: two mutexes are taken in opposite orders (potential deadlock)";
    } else {
        report.message += " (" + detail + ")";
    }
}

class Parser {
  public:
    void line(const std::string& text) {
        if (is_error_line(text) && !log_.has_error) {
            log_.has_error = true;
            log_.headline = headline_of(text);
        }
        if (header(text)) {
            in_stack_ = false;
            return;
        }
        if (current_ < 0) {
            return;
        }
        SanitizerReport& cur = log_.reports[static_cast<std::size_t>(current_)];
        LogFrame frame;
        if (parse_frame_line(text, frame)) {
            if (!in_stack_) {
                cur.stacks.emplace_back();
                in_stack_ = true;
            }
            cur.stacks.back().push_back(std::move(frame));
            return;
        }
        in_stack_ = false;
        const std::string t = trim(text);
        if (t.rfind("==================", 0) == 0) {
            current_ = -1;
            return;
        }
        if (t.rfind("SUMMARY:", 0) == 0) {
            return;
        }
        // The first access line gives the message its detail (TSan and ASan).
        if (!detailed_ && !t.empty() &&
            (t.find(" of size ") != std::string::npos ||
             t.rfind("Cycle in lock order graph", 0) == 0)) {
            detailed_ = true;
            add_detail(cur, t);
        }
        if (cur.tool == "tsan" && t.rfind("Location is ", 0) == 0) {
            std::string loc = t.substr(12);
            if (const std::size_t of = loc.find(" of size"); of != std::string::npos) {
                loc = loc.substr(0, of);
            }
            cur.message += " on " + loc;
        }
    }

    SanitizerLog take() { return std::move(log_); }

  private:
    SanitizerReport& open(std::string tool) {
        log_.reports.emplace_back();
        current_ = static_cast<int>(log_.reports.size()) - 1;
        detailed_ = false;
        log_.reports.back().tool = std::move(tool);
        return log_.reports.back();
    }

    // A line that starts a report (or a leak section); true when it was one.
    bool header(const std::string& line) {
        static const std::regex asan_head(
            R"(==\d+==ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer): (.*))");
        static const std::regex leak_head(
            R"((Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\) allocated from:)");
        static const std::regex tsan_head(R"(WARNING: ThreadSanitizer: (.*?)( \(pid=\d+\))?\s*$)");
        static const std::regex ubsan_head(R"(^(.*?):(\d+):(\d+): runtime error: (.*)$)");
        std::smatch m;
        if (std::regex_search(line, m, asan_head)) {
            const std::string san = m[1];
            const std::string rest = m[2];
            if (san == "LeakSanitizer" || rest.rfind("detected memory leaks", 0) == 0) {
                in_leaks_ = true;
                current_ = -1;
                return true;
            }
            in_leaks_ = false;
            SanitizerReport& r = open(san == "AddressSanitizer" ? "asan" : "ubsan");
            r.kind = rest.substr(0, rest.find(' '));
            r.message = rest;
            return true;
        }
        if (in_leaks_ && std::regex_search(line, m, leak_head)) {
            SanitizerReport& r = open("lsan");
            r.kind = m[1] == "Direct" ? "memory-leak" : "indirect-memory-leak";
            r.message = std::string(m[1]) + " leak of " + std::string(m[2]) + " byte(s) in " +
                        std::string(m[3]) + " object(s)";
            return true;
        }
        if (std::regex_search(line, m, tsan_head)) {
            in_leaks_ = false;
            SanitizerReport& r = open("tsan");
            const std::string kind = m[1];
            r.kind = kind_slug(kind.substr(0, kind.find(" (")));
            r.message = kind;
            return true;
        }
        if (std::regex_match(line, m, ubsan_head)) {
            in_leaks_ = false;
            SanitizerReport& r = open("ubsan");
            const std::string msg = m[4];
            const std::size_t colon = msg.find(':');
            r.kind =
                kind_slug(mask_addresses(colon == std::string::npos ? msg : msg.substr(0, colon)));
            r.message = msg;
            r.primary_file = m[1];
            r.primary_line = std::stoi(m[2]);
            return true;
        }
        return false;
    }

    SanitizerLog log_;
    int current_ = -1;
    bool in_stack_ = false;
    bool in_leaks_ = false;
    bool detailed_ = false;
};

}  // namespace

std::string mask_addresses(std::string_view text) {
    static const std::regex hex("0x[0-9a-fA-F]+");
    static const std::regex pid("(pid|tid)=[0-9]+");
    return std::regex_replace(std::regex_replace(std::string(text), hex, "0x..."), pid, "$1=...");
}

SanitizerLog parse_sanitizer_text(std::string_view text) {
    Parser parser;
    for (const std::string& line : split_lines(text)) {
        parser.line(line);
    }
    return parser.take();
}

}  // namespace kit
