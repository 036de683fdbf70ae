// Progress on stderr for kit-grade's phases.
#include "progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

namespace kit::grade {

Progress::Progress() : tty_(isatty(2) != 0), colour_(tty_ && std::getenv("NO_COLOR") == nullptr) {}

void Progress::start(const std::string& phase) {
    std::lock_guard<std::mutex> lock(mutex_);
    phase_ = phase;
    if (!tty_) {
        std::cerr << "kit-grade: " << phase << " ..." << std::endl;
    }
}

void Progress::update_part(const std::string& key, int done, int total) {
    std::string label;
    int d = 0;
    int t = 0;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        parts_[key] = {done, total};
        for (const auto& [k, v] : parts_) {
            d += v.first;
            t += v.second;
            label += k + " " + std::to_string(v.first) + "/" + std::to_string(v.second) + "  ";
        }
    }
    update(d, t, label);
}

void Progress::update(int done, int total, const std::string& label) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!tty_ || total <= 0) {
        return;
    }
    constexpr int width = 24;
    const int filled = std::clamp(done * width / total, 0, width);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar += std::string(static_cast<std::size_t>(width - filled), '.');
    const std::string text = label.size() > 60 ? "..." + label.substr(label.size() - 57) : label;
    std::cerr << "\r\x1b[K" << paint("36", phase_) << " [" << bar << "] " << done << "/" << total
              << " " << text << std::flush;
}

void Progress::finish(const std::string& message) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (tty_) {
        std::cerr << "\r\x1b[K";
    }
    std::cerr << "kit-grade: " << message << std::endl;
}

std::string Progress::paint(const char* code, const std::string& s) const {
    return colour_ ? std::string("\x1b[") + code + "m" + s + "\x1b[0m" : s;
}

}  // namespace kit::grade
