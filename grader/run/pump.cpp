// kit-run's output pump: the test's output into the capped log, the record into memory.
#include "run/pump.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "run/proc.hpp"

namespace kit {
namespace {

constexpr std::size_t record_cap = 4U << 20U;

void set_nonblocking(int fd) {
    if (fd >= 0) {
        const int flags = ::fcntl(fd, F_GETFL);
        ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }
}

}  // namespace

OutputPump::OutputPump(Fd output, Fd record, int log_fd, int signal_fd, std::uint64_t cap)
    : output_(std::move(output)),
      record_fd_(std::move(record)),
      log_fd_(log_fd),
      signal_fd_(signal_fd),
      cap_(cap) {
    set_nonblocking(output_.get());
    set_nonblocking(record_fd_.get());
}

void OutputPump::pump(std::chrono::milliseconds wait) {
    std::array<pollfd, 3> fds{};
    nfds_t count = 0;
    for (const int fd : {output_.get(), record_fd_.get(), signal_fd_}) {
        if (fd >= 0) {
            fds.at(count++) = pollfd{fd, POLLIN, 0};
        }
    }
    ::poll(fds.data(), count, static_cast<int>(wait.count()));
    for (nfds_t i = 0; i < count; ++i) {
        if ((fds.at(i).revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
            continue;
        }
        const int fd = fds.at(i).fd;
        if (fd == signal_fd_) {
            read_signals();
        } else {
            read_from(fd == output_.get() ? output_ : record_fd_);
        }
    }
}

void OutputPump::read_signals() {
    signalfd_siginfo info{};
    while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        interrupted_ = true;
        interrupt_signal_ = signal_name(static_cast<int>(info.ssi_signo));
    }
}

void OutputPump::read_from(Fd& fd) {
    std::array<char, 65536> buffer{};
    // Bounded: a flood must not starve the timeout checks.
    for (int rounds = 0; rounds < 16; ++rounds) {
        const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
            fd.reset();
            return;
        }
        if (n < 0) {
            return;
        }
        const std::string_view chunk(buffer.data(), static_cast<std::size_t>(n));
        if (&fd == &record_fd_) {
            if (record_.size() + chunk.size() > record_cap) {
                record_overflow_ = true;
            } else {
                record_.append(chunk);
            }
            continue;
        }
        const std::uint64_t room = cap_ > output_bytes_ ? cap_ - output_bytes_ : 0;
        const std::string_view kept = chunk.substr(0, std::min<std::uint64_t>(room, chunk.size()));
        // A closed log or stdout (EPIPE) must not stop the run.
        static_cast<void>(write_all(log_fd_, kept));
        static_cast<void>(write_all(STDOUT_FILENO, kept));
        output_bytes_ += kept.size();
        dropped_bytes_ += chunk.size() - kept.size();
    }
}

void OutputPump::drain(std::chrono::milliseconds budget) {
    const auto until = std::chrono::steady_clock::now() + budget;
    while ((output_.valid() || record_fd_.valid()) && std::chrono::steady_clock::now() < until) {
        pump(std::chrono::milliseconds(20));
    }
}

void OutputPump::note_dropped_output() {
    if (dropped_bytes_ > 0) {
        static_cast<void>(
            write_all(log_fd_, "\n[kit-run: " + std::to_string(dropped_bytes_) +
                                   " more bytes of output were dropped: the log keeps the first " +
                                   std::to_string(cap_) + " bytes]\n"));
    }
}

}  // namespace kit
