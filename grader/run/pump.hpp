// kit-run's output pump: moves the test's output into the log (capped) and the completion record
// into memory, and notices the stop signals, without ever blocking longer than asked.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/spawn.hpp"

namespace kit {

class OutputPump {
  public:
    // `output` and `record` are the read ends of the test's pipes (output may be invalid: not
    // captured); `log_fd` receives the kept output (and kit-run's stdout a copy of it);
    // `signal_fd` is the Runner's signalfd for SIGTERM/SIGINT/SIGHUP.
    OutputPump(Fd output, Fd record, int log_fd, int signal_fd, std::uint64_t cap);

    // Reads whatever is ready, waiting at most `wait` for something to arrive.
    void pump(std::chrono::milliseconds wait);
    // Keeps pumping until both pipes are closed (every writer gone) or `budget` has passed.
    void drain(std::chrono::milliseconds budget);
    // Appends the "N bytes dropped" line to the log when output went past the cap.
    void note_dropped_output();

    [[nodiscard]] bool interrupted() const { return interrupted_; }
    [[nodiscard]] const std::string& interrupt_signal() const { return interrupt_signal_; }
    [[nodiscard]] const std::string& record() const { return record_; }
    [[nodiscard]] bool record_overflow() const { return record_overflow_; }
    [[nodiscard]] std::uint64_t output_bytes() const { return output_bytes_; }
    [[nodiscard]] std::uint64_t dropped_bytes() const { return dropped_bytes_; }

  private:
    void read_signals();
    void read_from(Fd& fd);

    Fd output_;
    Fd record_fd_;
    int log_fd_;
    int signal_fd_;
    std::uint64_t cap_;
    std::string record_;
    bool record_overflow_ = false;
    std::uint64_t output_bytes_ = 0;
    std::uint64_t dropped_bytes_ = 0;
    bool interrupted_ = false;
    std::string interrupt_signal_;
};

}  // namespace kit
