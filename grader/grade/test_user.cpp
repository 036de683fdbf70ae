// Per-grading test users: a numeric uid leased through flock on /run/kit-grade/uid-N.lock.
#include "test_user.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>

#include "util.hpp"

namespace kit::grade {

namespace fs = std::filesystem;

namespace {

unsigned long long env_or(const char* name, unsigned long long fallback) {
    const char* text = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before threads
    if (text == nullptr || *text == '\0') {
        return fallback;
    }
    unsigned long long value = 0;
    const char* end = text + std::char_traits<char>::length(text);
    const auto parsed = std::from_chars(text, end, value);
    if (parsed.ec != std::errc() || parsed.ptr != end || value == 0) {
        throw GradeError(std::string(name) + "='" + text + "' is not a positive number");
    }
    return value;
}

// The lock directory: root's own and closed to everyone else, or an error that says what to fix.
fs::path lock_dir() {
    const fs::path dir = fs::is_directory("/run") ? fs::path("/run/kit-grade")
                                                  : fs::temp_directory_path() / "kit-grade-uids";
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        throw GradeError("cannot create " + dir.string() +
                         " for the test-user locks: " + std::strerror(errno));
    }
    struct stat st{};
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
        (st.st_mode & 077U) != 0) {
        throw GradeError(dir.string() +
                         " is not a directory of root's with mode 0700, so another user could "
                         "hold or fake the test-user locks; remove it and grade again");
    }
    return dir;
}

}  // namespace

bool uid_has_processes(uid_t uid) {
    std::error_code ec;
    for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::istringstream status(read_file_or_empty(it->path() / "status"));
        std::string line;
        while (std::getline(status, line)) {
            if (starts_with(line, "Uid:")) {
                std::istringstream ids(line.substr(4));
                unsigned long long id = 0;
                while (ids >> id) {
                    if (id == uid) {
                        return true;
                    }
                }
                break;
            }
        }
    }
    return false;
}

std::unique_ptr<TestUserLease> TestUserLease::acquire() {
    const unsigned long long base = env_or("KIT_UID_BASE", 1900000000ULL);
    const unsigned long long count = env_or("KIT_UID_COUNT", 512ULL);
    if (base + count >= 4294967295ULL) {
        throw GradeError("KIT_UID_BASE + KIT_UID_COUNT must stay below 4294967295");
    }
    const fs::path dir = lock_dir();
    int busy_with_processes = 0;
    for (unsigned long long uid = base; uid < base + count; ++uid) {
        const fs::path lock = dir / ("uid-" + std::to_string(uid) + ".lock");
        const int fd =
            ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);  // NOLINT
        if (fd < 0) {
            throw GradeError("cannot open " + lock.string() + ": " + std::strerror(errno));
        }
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            ::close(fd);
            continue;  // another grading holds it
        }
        if (uid_has_processes(static_cast<uid_t>(uid))) {
            ++busy_with_processes;  // left over from a grading that died: not for us
            ::close(fd);
            continue;
        }
        return std::unique_ptr<TestUserLease>(new TestUserLease(fd, static_cast<uid_t>(uid)));
    }
    throw GradeError("no free test user in uids " + std::to_string(base) + ".." +
                     std::to_string(base + count - 1) + " (" + std::to_string(busy_with_processes) +
                     " still own processes): too many gradings at once, or leftovers; wait, or "
                     "raise KIT_UID_COUNT");
}

TestUserLease::~TestUserLease() {
    ::close(fd_);
}

}  // namespace kit::grade
