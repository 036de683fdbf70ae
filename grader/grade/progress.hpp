// Progress on stderr for kit-grade's phases: a redrawn bar on a terminal (colour unless NO_COLOR),
// one line per phase otherwise. Thread-safe: the variants build side by side.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace kit::grade {

class Progress {
  public:
    Progress();
    // A phase starts (one line when stderr is not a terminal).
    void start(const std::string& phase);
    // Several builds at once: one bar over their sum, with each one's count.
    void update_part(const std::string& key, int done, int total);
    void update(int done, int total, const std::string& label);
    // A phase ends with one line.
    void finish(const std::string& message);

  private:
    [[nodiscard]] std::string paint(const char* code, const std::string& s) const;
    std::mutex mutex_;
    bool tty_;
    bool colour_;
    std::string phase_;
    std::map<std::string, std::pair<int, int>> parts_;
};

}  // namespace kit::grade
