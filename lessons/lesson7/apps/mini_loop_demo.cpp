// Lesson 7.3 demo: what blocks a loop. A 10 ms ticker and a pipe reader share one mini loop; one
// callback in the middle sleeps (the mistake), and every tick after it shows how late it ran.
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "lesson7/mini_loop.hpp"

namespace {

using namespace std::chrono_literals;
using lesson7::mini::Duration;
using lesson7::mini::Loop;
using lesson7::mini::TimePoint;

constexpr int kTicks = 10;
constexpr Duration kPeriod = 10ms;

double ms_of(Duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

int usage(std::FILE* out, int status) {
    static_cast<void>(std::fputs(
        "Usage: lesson7-mini-loop-demo [--block MS] [--help]\n"
        "Runs a 10 ms ticker on the lesson's mini loop. After tick 4 one callback blocks the loop\n"
        "for MS milliseconds (default 50; 0 = no blocking call) and the ticks show the lag.\n",
        out));
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    int block_ms = 50;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            return usage(stdout, 0);
        }
        if (arg == "--block" && i + 1 < argc) {
            const std::string_view value = argv[++i];
            const auto [end, ec] =
                std::from_chars(value.data(), value.data() + value.size(), block_ms);
            if (ec != std::errc{} || end != value.data() + value.size() || block_ms < 0) {
                static_cast<void>(std::fprintf(stderr,
                                               "lesson7-mini-loop-demo: --block needs a number of "
                                               "milliseconds >= 0, got '%s'\n",
                                               std::string(value).c_str()));
                return 2;
            }
            continue;
        }
        static_cast<void>(
            std::fprintf(stderr, "lesson7-mini-loop-demo: unknown argument '%s'\n", argv[i]));
        return usage(stderr, 2);
    }

    std::array<int, 2> fds{-1, -1};
    if (::pipe2(fds.data(), O_NONBLOCK | O_CLOEXEC) != 0) {
        static_cast<void>(std::fprintf(stderr, "lesson7-mini-loop-demo: pipe2 failed: %s\n",
                                       std::strerror(errno)));
        return 1;
    }
    int status = 0;
    try {
        Loop loop;
        const TimePoint start = loop.clock().now();
        int ticks = 0;
        // Each tick is scheduled for start + n * period and reports how late it actually ran, then
        // writes a byte that the reader picks up in the next iteration.
        std::function<void()> tick = [&] {
            ++ticks;
            const TimePoint due = start + kPeriod * ticks;
            std::printf("tick %2d  late by %6.2f ms\n", ticks, ms_of(loop.clock().now() - due));
            static_cast<void>(::write(fds[1], "t", 1));
            if (ticks == 4 && block_ms > 0) {
                loop.call_soon([block_ms] {
                    std::printf("         a callback sleeps %d ms: nothing else can run\n",
                                block_ms);
                    std::this_thread::sleep_for(
                        std::chrono::milliseconds(block_ms));  // the mistake
                });
            }
            if (ticks < kTicks) {
                loop.call_at(start + kPeriod * (ticks + 1), tick);
            } else {
                loop.remove_reader(fds[0]);
                loop.stop();
            }
        };
        int wakeups = 0;
        loop.add_reader(fds[0], [&] {
            ++wakeups;
            std::array<char, 64> buf{};
            while (::read(fds[0], buf.data(), buf.size()) > 0) {
            }
        });
        loop.call_at(start + kPeriod, tick);
        loop.run_forever();
        std::printf("%d ticks, %d wake-ups of the pipe reader, %.1f ms in all (expected %.0f ms)\n",
                    ticks, wakeups, ms_of(loop.clock().now() - start), ms_of(kPeriod * kTicks));
    } catch (const std::exception& e) {
        static_cast<void>(std::fprintf(stderr, "lesson7-mini-loop-demo: %s\n", e.what()));
        status = 1;
    }
    static_cast<void>(::close(fds[0]));
    static_cast<void>(::close(fds[1]));
    return status;
}
