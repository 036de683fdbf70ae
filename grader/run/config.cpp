// kit-run's settings, read once from its command line and environment (see kit-run --help).
#include "run/config.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <stdexcept>

#include "common/hmac.hpp"
#include "common/json_io.hpp"

namespace kit {
namespace {

std::optional<std::string> env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr) {
        return std::nullopt;
    }
    return std::string(value);
}

double parse_positive(const std::string& text, const std::string& what) {
    double value = 0;
    const auto* end = text.data() + text.size();
    const auto result = std::from_chars(text.data(), end, value);
    if (text.empty() || result.ec != std::errc() || result.ptr != end || !(value > 0)) {
        throw std::invalid_argument(what + "='" + text + "' is not a positive number");
    }
    return value;
}

std::uint64_t env_number(const char* name, std::uint64_t fallback, std::uint64_t scale = 1) {
    const auto text = env(name);
    return text ? static_cast<std::uint64_t>(parse_positive(*text, name)) * scale : fallback;
}

// The last --gtest_<flag>= on the command line (gtest also accepts -gtest_ and /gtest_).
std::optional<std::string> gtest_arg(const std::vector<std::string>& command,
                                     const std::string& flag) {
    std::optional<std::string> value;
    for (std::size_t i = 1; i < command.size(); ++i) {
        for (const std::string prefix : {"--gtest_", "-gtest_", "/gtest_"}) {
            const std::string key = prefix + flag + "=";
            if (command[i].rfind(key, 0) == 0) {
                value = command[i].substr(key.size());
            }
        }
    }
    return value;
}

double timeout_from(const std::string& file, const std::string& item, const std::string& variant) {
    std::string error;
    const auto json = read_json_file(file, error);
    if (!json) {
        throw std::invalid_argument("KIT_TIMEOUTS: " + error);
    }
    if (!json->is_object()) {
        throw std::invalid_argument("KIT_TIMEOUTS: " + file + " is not a JSON object");
    }
    const auto entry = json->find(item);
    if (entry == json->end() || !entry->is_object()) {
        return 0;
    }
    const auto secs = entry->find(variant);
    if (secs == entry->end()) {
        return 0;
    }
    if (!secs->is_number() || !(secs->get<double>() > 0)) {
        throw std::invalid_argument("KIT_TIMEOUTS: " + file + ": " + item + "." + variant +
                                    " is not a positive number of seconds");
    }
    return secs->get<double>();
}

}  // namespace

std::string usage_text() {
    return R"(kit-run: runs one graded test item with limits and writes its verdict.

Usage: kit-run [--out=DIR] [--timeouts=FILE] [--run-user=NAME] [--] TEST-COMMAND [ARGS...]
       meson test -C BUILDDIR --wrapper '/path/to/kit-run --out=DIR' [TESTS...]

  --out=DIR, --timeouts=FILE, --run-user=NAME   as KIT_OUT, KIT_TIMEOUTS, KIT_RUN_USER below (the
                                                options win; kit-grade passes these)

Each of KIT_REPEAT runs of TEST-COMMAND gets its own process group, rlimits (CPU time, file
size, core 0, address space in plain builds, process count when it runs as a non-root user), a
wall-clock timeout (a hang is classified deadlock or busy, with a gdb backtrace of every thread,
then the whole group is killed) and a watchdog on memory and process count. Everything left
running after a run is killed (kit-run is a child subreaper, so daemons that call setsid() are
caught too). A run passes only if it exits 0, produces no sanitizer report, and the test main
(lessons/common/test_main.cpp) writes a complete, correctly signed completion record.

Environment (all optional):
  KIT_ITEM, KIT_LESSON, KIT_VARIANT, KIT_REPEAT, KIT_TIMEOUT   set by the kit's meson tests
  KIT_OUT=DIR          write DIR/<variant>/<item>.json and logs DIR/<variant>/<item>.<run>.*
  KIT_RUN_SECRET=HEX   64 hex digits; signs the verdict (HMAC-SHA256); never reaches the test
  KIT_TIMEOUTS=FILE    {"<item>": {"plain": secs, "asan": secs, "tsan": secs}}
  KIT_RUN_USER=NAME    when root, run tests as this user (default nobody; "root" keeps root;
                       "#UID" a numeric uid and gid without a passwd entry)
  KIT_OUTPUT_CAP=BYTES KIT_MEM_MB KIT_FSIZE_MB KIT_AS_MB KIT_MAX_PROCS KIT_NPROC   limits

Exit status: 0 every run passed, 1 some run failed, 2 kit-run could not run (bad input).
)";
}

Config load_config(int argc, char** argv) {
    Config config;
    // kit-run's own options come first (kit-grade passes them through meson test --wrapper); they
    // win over the environment variables of the same meaning.
    std::map<std::string, std::string> options;
    int first = 1;
    for (; first < argc; ++first) {
        const std::string arg =
            argv[first];  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
        if (arg == "--") {
            ++first;
            break;
        }
        const std::size_t eq = arg.find('=');
        if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
            break;
        }
        const std::string name = arg.substr(2, eq - 2);
        if (name != "out" && name != "timeouts" && name != "run-user") {
            throw std::invalid_argument("unknown option --" + name +
                                        " (kit-run takes --out=, --timeouts=, --run-user=)");
        }
        options[name] = arg.substr(eq + 1);
    }
    for (int i = first; i < argc; ++i) {
        config.command.emplace_back(
            argv[i]);  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    }
    const auto option = [&](const std::string& name, const char* variable) {
        const auto it = options.find(name);
        return it != options.end() ? std::optional<std::string>(it->second) : env(variable);
    };
    if (config.command.empty()) {
        throw std::invalid_argument("no test command given (see kit-run --help)");
    }
    const std::filesystem::path program(config.command.front());
    config.item = env("KIT_ITEM").value_or(program.filename().string());
    if (config.item.empty() || config.item.find('/') != std::string::npos ||
        config.item.find("..") != std::string::npos) {
        throw std::invalid_argument("KIT_ITEM='" + config.item + "' is not a plain item name");
    }
    config.lesson = env("KIT_LESSON").value_or("");
    config.variant = env("KIT_VARIANT").value_or("");
    if (config.variant.find('/') != std::string::npos ||
        config.variant.find("..") != std::string::npos) {
        throw std::invalid_argument("KIT_VARIANT='" + config.variant + "' is not a variant name");
    }
    if (const auto repeat = env("KIT_REPEAT")) {
        const double value = parse_positive(*repeat, "KIT_REPEAT");
        if (value > 1000) {
            throw std::invalid_argument("KIT_REPEAT=" + *repeat + " is more than 1000");
        }
        config.repeat = static_cast<int>(value);
    }
    if (const auto out = option("out", "KIT_OUT"); out && !out->empty()) {
        config.out_dir = std::filesystem::absolute(*out);
    }
    config.secret = env("KIT_RUN_SECRET").value_or("");
    if (!config.secret.empty() && !is_hex(config.secret, 64)) {
        throw std::invalid_argument("KIT_RUN_SECRET is set but is not 64 hex digits");
    }
    if (const auto timeout = env("KIT_TIMEOUT")) {
        config.ceiling_seconds = parse_positive(*timeout, "KIT_TIMEOUT");
        config.timeout_seconds = config.ceiling_seconds;
    }
    if (const auto file = option("timeouts", "KIT_TIMEOUTS"); file && !file->empty()) {
        const double derived = timeout_from(*file, config.item, config.variant);
        if (derived > 0) {
            config.timeout_seconds = derived;
        }
    }
    if (config.ceiling_seconds > 0) {
        const double ceiling = config.ceiling_seconds;
        config.timeout_seconds =
            std::min(config.timeout_seconds, std::max(0.75 * ceiling, ceiling - 15));
    }
    // The build dir's test setup sets *SAN_OPTIONS only in sanitizer builds; trusting either sign
    // keeps RLIMIT_AS (fatal to a sanitizer's shadow memory) away from sanitizer binaries.
    config.sanitizer = config.variant == "asan" || config.variant == "tsan" ||
                       env("ASAN_OPTIONS") || env("TSAN_OPTIONS");

    Limits& limits = config.limits;
    limits.output_cap_bytes = env_number("KIT_OUTPUT_CAP", limits.output_cap_bytes);
    limits.memory_bytes = env_number("KIT_MEM_MB", limits.memory_bytes, 1ULL << 20U);
    limits.file_size_bytes = env_number("KIT_FSIZE_MB", limits.file_size_bytes, 1ULL << 20U);
    limits.address_space_bytes = env_number("KIT_AS_MB", limits.address_space_bytes, 1ULL << 20U);
    limits.max_processes = static_cast<int>(env_number("KIT_MAX_PROCS", 256));
    limits.nproc = env_number("KIT_NPROC", limits.nproc);

    if (::geteuid() == 0) {
        const auto chosen = option("run-user", "KIT_RUN_USER");
        const std::string user = chosen.value_or("nobody");
        if (!user.empty() && user.front() == '#') {
            // "#UID": a numeric user with no passwd entry (kit-grade gives each grading its own,
            // so that process limits and file ownership separate concurrent gradings).
            const std::string digits = user.substr(1);
            std::uint64_t uid = 0;
            const char* end = digits.data() + digits.size();
            const auto parsed = std::from_chars(digits.data(), end, uid);
            if (digits.empty() || parsed.ec != std::errc() || parsed.ptr != end || uid == 0 ||
                uid >= 4294967295ULL) {
                throw std::invalid_argument("KIT_RUN_USER=" + user +
                                            ": '#' must be followed by a uid from 1 to 4294967294");
            }
            config.drop_privileges = true;
            config.run_uid = static_cast<uid_t>(uid);
            config.run_gid = static_cast<gid_t>(uid);
            config.run_user = "uid " + user.substr(1);
        } else if (user != "root" && !user.empty()) {
            const passwd* entry = ::getpwnam(user.c_str());  // NOLINT(concurrency-mt-unsafe)
            if (entry == nullptr) {
                if (chosen) {
                    throw std::invalid_argument("KIT_RUN_USER=" + user + ": no such user");
                }
            } else {
                config.drop_privileges = true;
                config.run_uid = entry->pw_uid;
                config.run_gid = entry->pw_gid;
                config.run_user = user;
            }
        }
    }
    if (config.run_user.empty()) {
        const passwd* entry = ::getpwuid(::geteuid());  // NOLINT(concurrency-mt-unsafe)
        config.run_user = entry != nullptr ? entry->pw_name : std::to_string(::geteuid());
    }

    config.gtest_filter =
        gtest_arg(config.command, "filter").value_or(env("GTEST_FILTER").value_or("*"));
    const std::string repeat_text =
        gtest_arg(config.command, "repeat").value_or(env("GTEST_REPEAT").value_or("1"));
    int gtest_repeat = 1;
    const auto parsed =
        std::from_chars(repeat_text.data(), repeat_text.data() + repeat_text.size(), gtest_repeat);
    config.gtest_repeat = parsed.ec == std::errc() ? gtest_repeat : 1;
    return config;
}

}  // namespace kit
