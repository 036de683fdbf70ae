// The GoogleTest main shared by every lesson's test binaries; under kit-run it also writes the
// signed completion record.
//
// kit-run (grader/run) passes two inherited fds whose numbers are in KIT_KEY_FD and KIT_RECORD_FD:
// a pipe holding a fresh per-process key (64 hex characters) and a pipe for the record. A
// constructor with priority 101 (before the default-priority static initialisers of student code)
// reads and closes the key, removes both variables from the environment, and writes a start line.
// A GoogleTest listener then writes one HMAC-SHA256-signed line per plan, case start, case end,
// and a final done line (format: grader/common/record_format.hpp; keep the two in step), signed
// with grader/common/hmac.cpp, which Meson compiles into every test binary with this file. A
// student's exit(0), a printed fake "[  PASSED  ]" or a forged file cannot produce those lines.
// Without the variables (a student running the binary by hand) this is a plain GoogleTest main.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "../../grader/common/hmac.hpp"

namespace {

// Everything the record needs, constant-initialised so it is ready before any constructor runs.
struct RecordState {
    std::array<char, 64> key{};
    int fd = -1;
    pid_t owner = 0;  // only this process writes: a forked child that returns into gtest must not
    long long seq = 0;
    bool active = false;
};
constinit RecordState g_record{};

std::optional<int> fd_from_env(const char* name) {
    const char* text = std::getenv(name);
    if (text == nullptr) {
        return std::nullopt;
    }
    int fd = -1;
    const std::string_view view(text);
    const auto result = std::from_chars(view.data(), view.data() + view.size(), fd);
    if (result.ec != std::errc() || result.ptr != view.data() + view.size() || fd < 0) {
        return std::nullopt;
    }
    return fd;
}

std::string encode(std::string_view field) {
    static constexpr std::string_view safe = "._/*:?+=,-";
    static constexpr std::string_view digits = "0123456789ABCDEF";
    std::string out;
    for (const char c : field) {
        const auto byte = static_cast<unsigned char>(c);
        const bool alnum =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alnum || safe.find(c) != std::string_view::npos) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(digits[byte >> 4U]);
            out.push_back(digits[byte & 0x0FU]);
        }
    }
    return out;
}

// Signs and writes one line; a line under PIPE_BUF bytes reaches the pipe in one piece.
void write_line(std::string_view kind, std::string_view fields) {
    if (!g_record.active || ::getpid() != g_record.owner) {
        return;
    }
    std::string line = "KR1 " + std::to_string(g_record.seq++) + " " + std::string(kind);
    if (!fields.empty()) {
        line += " " + std::string(fields);
    }
    try {
        // The signer kit-run's checker uses: one HMAC in the whole kit (grader/common/hmac.cpp).
        const std::string mac =
            kit::hmac_sha256_hex(std::string_view(g_record.key.data(), g_record.key.size()), line);
        line.append(" ").append(mac).append("\n");
    } catch (const std::exception&) {
        g_record.active = false;  // no signature, no record: kit-run reports the run as unproven
        return;
    }
    std::size_t done = 0;
    while (done < line.size()) {
        const ssize_t n = ::write(g_record.fd, line.data() + done, line.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            g_record.active = false;  // kit-run is gone or the fd was closed: the record is lost
            return;
        }
        done += static_cast<std::size_t>(n);
    }
}

// Priority 101 is the first one open to programs (0-100 are reserved for the implementation),
// so this runs before every default-priority static initialiser, including the student's.
__attribute__((constructor(101))) void kit_read_record_key() {
    const auto key_fd = fd_from_env("KIT_KEY_FD");
    const auto record_fd = fd_from_env("KIT_RECORD_FD");
    ::unsetenv("KIT_KEY_FD");
    ::unsetenv("KIT_RECORD_FD");
    if (!key_fd || !record_fd) {
        return;
    }
    std::size_t got = 0;
    while (got < g_record.key.size()) {
        const ssize_t n = ::read(*key_fd, g_record.key.data() + got, g_record.key.size() - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    ::close(*key_fd);
    if (got != g_record.key.size()) {
        static_cast<void>(
            std::fputs("kit: could not read the completion-record key from kit-run; "
                       "this run cannot pass under the grader\n",
                       stderr));
        return;
    }
    // exec'd programs (death tests, helpers) must not inherit the record; forked children do,
    // but write_line() ignores every process except this one.
    ::fcntl(*record_fd, F_SETFD, FD_CLOEXEC);
    g_record.fd = *record_fd;
    g_record.owner = ::getpid();
    g_record.active = true;
    write_line("start", std::to_string(g_record.owner));
}

// Writes the plan, each case's start and end, and the final result.
class RecordListener : public ::testing::EmptyTestEventListener {
  public:
    void OnTestIterationStart(const ::testing::UnitTest& unit_test, int iteration) override {
        iteration_ = iteration;
        write_line("plan", std::to_string(iteration) + " " +
                               std::to_string(unit_test.test_to_run_count()) + " " +
                               encode(GTEST_FLAG_GET(filter)));
    }

    void OnTestStart(const ::testing::TestInfo& info) override {
        write_line("begin", std::to_string(iteration_) + " " + encode(full_name(info)));
    }

    void OnTestEnd(const ::testing::TestInfo& info) override {
        const auto* result = info.result();
        const char* outcome = result->Skipped() ? "skip" : (result->Passed() ? "pass" : "fail");
        write_line("case",
                   std::to_string(iteration_) + " " + encode(full_name(info)) + " " + outcome);
    }

    void OnTestIterationEnd(const ::testing::UnitTest& /*unit_test*/, int /*iteration*/) override {
        ++iterations_;
    }

    void OnTestProgramEnd(const ::testing::UnitTest& unit_test) override {
        write_line("done", std::to_string(iterations_) + (unit_test.Passed() ? " 1" : " 0"));
    }

  private:
    static std::string full_name(const ::testing::TestInfo& info) {
        return std::string(info.test_suite_name()) + "." + info.name();
    }

    int iteration_ = 0;
    int iterations_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (g_record.active) {
        // The listener list owns and deletes the listener.
        ::testing::UnitTest::GetInstance()->listeners().Append(new RecordListener);
    }
    return RUN_ALL_TESTS();
}
