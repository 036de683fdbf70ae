// kit-run's settings, read once from its command line and environment (see kit-run --help).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kit {

// Resource limits applied to every run; each can be overridden by the environment variable named.
struct Limits {
    std::uint64_t output_cap_bytes = 1U << 20U;        // KIT_OUTPUT_CAP: captured stdout+stderr
    std::uint64_t file_size_bytes = 256ULL << 20U;     // KIT_FSIZE_MB: RLIMIT_FSIZE
    std::uint64_t memory_bytes = 2048ULL << 20U;       // KIT_MEM_MB: RSS watchdog over the tree
    std::uint64_t address_space_bytes = 16ULL << 30U;  // KIT_AS_MB: RLIMIT_AS (plain builds only)
    int max_processes = 256;                           // KIT_MAX_PROCS: watchdog over the tree
    std::uint64_t nproc = 1024;                        // KIT_NPROC: RLIMIT_NPROC (non-root user)
};

// Everything kit-run needs to know before the first run.
struct Config {
    std::vector<std::string> command;  // the test command line (argv after kit-run's own options)
    std::string item;                  // KIT_ITEM, or the command's basename
    std::string lesson;                // KIT_LESSON
    std::string variant;               // KIT_VARIANT: plain, asan, tsan, or "" (unknown)
    int repeat = 1;                    // KIT_REPEAT
    std::optional<std::filesystem::path> out_dir;  // KIT_OUT: verdict and logs go below it
    std::string secret;  // KIT_RUN_SECRET (64 hex) or "" (verdict left unsigned)
    // The run's wall-clock timeout: KIT_TIMEOUTS[item][variant], else KIT_TIMEOUT, else 60, and
    // never more than max(0.75 x ceiling, ceiling - 15 s), so that the hang investigation (gdb)
    // and the verdict fit inside meson's own timeout for the test (the ceiling).
    double timeout_seconds = 60;
    double ceiling_seconds = 0;    // KIT_TIMEOUT: meson's timeout for the test, 0 if unknown
    bool sanitizer = false;        // asan/tsan variant or *SAN_OPTIONS present: no RLIMIT_AS
    bool drop_privileges = false;  // root and KIT_RUN_USER names another user
    uid_t run_uid = 0;
    gid_t run_gid = 0;
    std::string run_user;            // the user the test runs as (for messages)
    std::string gtest_filter = "*";  // what the test main must report as its filter
    int gtest_repeat = 1;            // what the test main must report as its iteration count
    Limits limits;
};

// Builds the Config from argv (argv[1..] is the test command; "--help" alone prints help) and the
// environment. Throws std::invalid_argument with a one-line reason on bad input (an unreadable
// KIT_TIMEOUTS file, a malformed number, a secret that is not 64 hex digits, an unknown user).
Config load_config(int argc, char** argv);

// The text of kit-run --help.
std::string usage_text();

}  // namespace kit
