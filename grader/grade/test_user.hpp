// A test user of its own for each grading: when kit-grade runs as root, the tests of one grading
// run under a numeric uid that no other grading on the machine holds at the same time, so that
// RLIMIT_NPROC, the process watchdog and file ownership separate concurrent gradings (one
// submission's fork bomb cannot take another's process slots).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

namespace kit::grade {

// A uid held for the lifetime of this object (an flock on a per-uid lock file in a root-only
// directory; the kernel drops it when the grader exits, however it exits).
class TestUserLease {
  public:
    TestUserLease(const TestUserLease&) = delete;
    TestUserLease& operator=(const TestUserLease&) = delete;
    TestUserLease(TestUserLease&&) = delete;
    TestUserLease& operator=(TestUserLease&&) = delete;
    ~TestUserLease();

    // The first uid of KIT_UID_BASE .. KIT_UID_BASE + KIT_UID_COUNT - 1 (defaults 1900000000 and
    // 512) that no other grading holds and that owns no process (a leftover of a grading that
    // died is never shared); root only. Throws GradeError, with what to do, when none is free or
    // the lock directory is not root's own.
    static std::unique_ptr<TestUserLease> acquire();

    [[nodiscard]] uid_t uid() const { return uid_; }

  private:
    TestUserLease(int fd, uid_t uid) : fd_(fd), uid_(uid) {}
    int fd_;
    uid_t uid_;
};

// True when some process of the machine runs with this real or effective uid.
bool uid_has_processes(uid_t uid);

}  // namespace kit::grade
