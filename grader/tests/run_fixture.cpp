// A GoogleTest program that misbehaves on request (FIXTURE_MODE), run through kit-run by
// run_process_test.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string mode() {
    const char* value = std::getenv("FIXTURE_MODE");
    return value != nullptr ? value : "";
}

// Runs before main (default priority, after the test main's key reader), like a student's global.
const bool static_exit = [] {
    if (mode() == "static_exit") {
        std::exit(0);
    }
    return true;
}();

void misbehave() {
    const std::string m = mode();
    if (m == "fail") {
        ADD_FAILURE() << "the fixture was asked to fail";
    } else if (m == "exit0") {
        std::exit(0);
    } else if (m == "_exit0") {
        ::_exit(0);
    } else if (m == "quick_exit") {
        std::quick_exit(0);
    } else if (m == "fake_pass") {
        static_cast<void>(
            std::printf("[       OK ] Fixture.Third (0 ms)\n[  PASSED  ] 3 tests.\n"));
        static_cast<void>(std::fflush(stdout));
        std::exit(0);
    } else if (m == "forge") {
        const char line[] =
            "KR1 9 done 1 1 0000000000000000000000000000000000000000000000000000000000000000\n";
        static_cast<void>(::write(4, line, sizeof line - 1));
    } else if (m == "heap_overflow") {
        std::vector<int> four(4);
        const volatile std::size_t past_the_end = 4;  // hidden from the compiler's bounds check
        four.data()[past_the_end] = 1;  // AddressSanitizer reports a heap-buffer-overflow
    } else if (m == "segv") {
        static_cast<void>(std::raise(SIGSEGV));
    } else if (m == "hang_deadlock") {
        std::promise<void> never;
        std::thread waiter([&never] { never.get_future().wait(); });
        waiter.join();
    } else if (m == "hang_busy") {
        std::atomic<unsigned long> spin{0};
        while (spin.load() != ~0UL) {
            spin.fetch_add(1);
        }
    } else if (m == "leftover") {
        if (::fork() == 0) {
            ::setsid();
            if (::fork() == 0) {
                ::sleep(1000);
            }
            ::_exit(0);
        }
    } else if (m == "flood") {
        const std::string chunk(std::size_t{64} * 1024, 'x');
        for (int i = 0; i < 64; ++i) {
            static_cast<void>(std::fwrite(chunk.data(), 1, chunk.size(), stdout));
            static_cast<void>(std::fwrite(chunk.data(), 1, chunk.size(), stderr));
        }
        static_cast<void>(std::fflush(stdout));
    } else if (m == "forkbomb") {
        for (int i = 0; i < 2000; ++i) {  // bounded, in case kit-run's watchdog failed
            if (::fork() == 0) {
                ::sleep(1000);
                ::_exit(0);
            }
        }
        ::sleep(1000);
    } else if (m == "memory") {
        std::vector<std::vector<char>> hog;
        for (int i = 0; i < 64; ++i) {  // at most 4 GiB, in case kit-run's watchdog failed
            hog.emplace_back(64U << 20U, 'm');
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    } else if (m == "secret") {
        EXPECT_EQ(std::getenv("KIT_RUN_SECRET"), nullptr);
        EXPECT_EQ(std::getenv("KIT_KEY_FD"), nullptr);
        EXPECT_EQ(std::getenv("GITHUB_TOKEN"), nullptr);
        std::ifstream parent("/proc/" + std::to_string(::getppid()) + "/environ");
        std::string text((std::istreambuf_iterator<char>(parent)),
                         std::istreambuf_iterator<char>());
        EXPECT_EQ(text.find("KIT_RUN_SECRET"), std::string::npos)
            << "the test could read kit-run's environment";
    }
}

}  // namespace

TEST(Fixture, First) {
    EXPECT_TRUE(static_exit);
}

TEST(Fixture, Second) {
    misbehave();
}

TEST(Fixture, Third) {
    EXPECT_EQ(2 + 2, 4);
}
