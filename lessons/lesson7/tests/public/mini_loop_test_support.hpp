// Helpers shared by lesson 7.3's public and hidden mini-loop tests: a non-blocking pipe, reads
// and writes that check their results, and readable forms of the clock's recorded waits.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "lesson7/mini_loop.hpp"

namespace lesson7::mini::test_support {

using namespace std::chrono_literals;

// A pipe with both ends non-blocking and close-on-exec; closes what is still open when destroyed.
class Pipe {
  public:
    Pipe() {
        std::array<int, 2> fds{-1, -1};
        if (::pipe2(fds.data(), O_NONBLOCK | O_CLOEXEC) != 0) {
            throw std::system_error(errno, std::generic_category(), "test: pipe2");
        }
        read_fd_ = fds[0];
        write_fd_ = fds[1];
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    ~Pipe() {
        close_read();
        close_write();
    }

    int read_fd() const { return read_fd_; }
    int write_fd() const { return write_fd_; }

    void write(std::string_view bytes) const {
        const ssize_t n = ::write(write_fd_, bytes.data(), bytes.size());
        if (n != static_cast<ssize_t>(bytes.size())) {
            throw std::system_error(errno, std::generic_category(), "test: write to the pipe");
        }
    }
    void close_read() { close_fd(read_fd_); }
    void close_write() { close_fd(write_fd_); }

  private:
    static void close_fd(int& fd) {
        if (fd >= 0) {
            static_cast<void>(::close(fd));
            fd = -1;
        }
    }
    int read_fd_ = -1;
    int write_fd_ = -1;
};

// What one drain of a non-blocking descriptor found.
struct Drained {
    std::string bytes;
    bool eof = false;  // read() returned 0: the write end is closed
};

// Reads `fd` until it would block or reports end of file.
inline Drained drain(int fd) {
    Drained out;
    std::array<char, 256> buf{};
    for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n > 0) {
            out.bytes.append(buf.data(), static_cast<std::size_t>(n));
        } else if (n == 0) {
            out.eof = true;
            return out;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return out;
        } else if (errno != EINTR) {
            throw std::system_error(errno, std::generic_category(), "test: read from the pipe");
        }
    }
}

// The clock's recorded waits as text, e.g. "[0ms, 10ms, none]", for failure messages.
inline std::string describe(const std::vector<std::optional<Duration>>& waits) {
    std::string out = "[";
    for (std::size_t i = 0; i < waits.size(); ++i) {
        if (i != 0) {
            out += ", ";
        }
        const auto& wait = waits[i];
        if (!wait.has_value()) {
            out += "none";
        } else {
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(*wait);
            out += us.count() % 1000 == 0 ? std::to_string(us.count() / 1000) + "ms"
                                          : std::to_string(us.count()) + "us";
        }
    }
    return out + "]";
}

// Waits written the same way, for comparisons: ms(10) is a wait of 10 ms; forever() is none.
inline std::optional<Duration> ms(long long n) {
    return Duration(std::chrono::milliseconds(n));
}
inline std::optional<Duration> forever() {
    return std::nullopt;
}

}  // namespace lesson7::mini::test_support
