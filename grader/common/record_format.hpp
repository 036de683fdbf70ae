// The completion record's line format, shared by kit-run (which checks it) and the test main (which
// writes it).
#pragma once

// The record is a sequence of text lines the test main (lessons/common/test_main.cpp) writes to the
// fd named by KIT_RECORD_FD, signed with the per-process key it read from the fd named by
// KIT_KEY_FD (64 hex characters, used as the raw ASCII bytes of the HMAC key, like KIT_RUN_SECRET):
//
//   KR1 <seq> <kind> <field>... <mac>\n
//
// <seq> counts lines from 0 with no gap; <mac> = HMAC-SHA256(key, the line up to but not including
// the space before <mac>) in lowercase hex. Fields are percent-encoded: every byte outside
// [A-Za-z0-9._/*:?+=,-] is written as %XX (uppercase hex). Kinds, in the order they must appear:
//
//   start <pid>                          the constructor with priority 101 read the key (before
//   main) plan <iteration> <count> <filter>    an iteration starts; <count> tests will run;
//   effective filter begin <iteration> <Suite.Name>       a test case starts case <iteration>
//   <Suite.Name> <pass|fail|skip>    the same test case ended done <iterations> <1|0> RUN_ALL_TESTS
//   finished; 1 when GoogleTest reports success
//
// Only the process that read the key writes lines (a forked child that returns into GoogleTest
// writes nothing). The test main signs with grader/common/hmac.cpp (compiled into every test
// binary) but spells the line layout out itself; keep the two in step. Honest limit: code running
// in the test process can read the key from memory; the record defeats exit()/_exit()/quick_exit()
// from student code, printed fake results, forged files and changed gtest flags, not a determined
// in-process attacker.

#include <string_view>

namespace kit::record {

inline constexpr std::string_view magic = "KR1";
inline constexpr std::string_view key_fd_env = "KIT_KEY_FD";
inline constexpr std::string_view record_fd_env = "KIT_RECORD_FD";
// The fd numbers kit-run gives the test program (the values are not secret).
inline constexpr int key_fd = 3;
inline constexpr int record_fd = 4;

}  // namespace kit::record
