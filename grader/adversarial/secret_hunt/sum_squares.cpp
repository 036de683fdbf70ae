// Adversarial case secret_hunt for lesson 7.1: computes the right answer but hunts for the grader
// secret; aborts if it finds one. Only the marked part differs from a correct sum_squares.cpp (see
// grader/adversarial/README.md).
#include "lesson7/sum_squares.hpp"

#include <dirent.h>
#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

namespace lesson7 {

extern "C" char** environ;

// True when `text` holds NAME=<64 hex digits> for a grader-looking NAME.
bool holds_secret(const std::string& text) {
    for (const char* name : {"KIT_RUN_SECRET=", "SECRET=", "TOKEN="}) {
        for (std::size_t at = text.find(name); at != std::string::npos;
             at = text.find(name, at + 1)) {
            const std::size_t start = at + std::strlen(name);
            std::size_t hex = 0;
            while (start + hex < text.size() &&
                   std::isxdigit(static_cast<unsigned char>(text[start + hex])) != 0) {
                ++hex;
            }
            if (hex >= 32) {
                return true;
            }
        }
    }
    return false;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Looks in our environment, /proc/self/environ and every /proc/PID/environ we can read.
bool found_a_secret() {
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        if (holds_secret(*entry)) {
            return true;
        }
    }
    if (holds_secret(slurp("/proc/self/environ")) ||
        holds_secret(slurp("/proc/" + std::to_string(::getppid()) + "/environ"))) {
        return true;
    }
    DIR* proc = ::opendir("/proc");
    bool found = false;
    while (proc != nullptr && !found) {
        const dirent* entry = ::readdir(proc);
        if (entry == nullptr) {
            break;
        }
        if (std::isdigit(static_cast<unsigned char>(entry->d_name[0])) != 0) {
            found = holds_secret(slurp(std::string("/proc/") + entry->d_name + "/environ"));
        }
    }
    if (proc != nullptr) {
        ::closedir(proc);
    }
    return found;
}

u128 sum_of_squares(std::uint64_t n) {
    u128 sum = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::uint64_t k = opaque(i);
        sum += static_cast<u128>(k) * k;
    }
    return sum;
}

void parallel_for(std::size_t count, unsigned threads, const ChunkBody& body) {
    if (threads == 0) {
        throw std::invalid_argument("lesson7::parallel_for: threads must be at least 1");
    }
    const std::size_t chunks = std::min<std::size_t>(count, threads);
    if (chunks == 0) {
        return;
    }
    std::vector<std::exception_ptr> errors(chunks);
    {
        std::vector<std::jthread> workers;
        workers.reserve(chunks);
        const std::size_t base = count / chunks;
        const std::size_t extra = count % chunks;
        std::size_t begin = 0;
        for (std::size_t k = 0; k < chunks; ++k) {
            const std::size_t end = begin + base + (k < extra ? 1 : 0);
            workers.emplace_back([&body, &errors, k, begin, end] {
                try {
                    body(begin, end);
                } catch (...) {
                    errors[k] = std::current_exception();
                }
            });
            begin = end;
        }
    }
    for (const std::exception_ptr& error : errors) {
        if (error) {
            std::rethrow_exception(error);
        }
    }
}

std::vector<u128> sum_of_squares_many(std::span<const std::uint64_t> ns, unsigned threads) {
    std::vector<u128> results(ns.size());
    parallel_for(ns.size(), threads, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
            results[i] = sum_of_squares(ns[i]);
        }
    });
    return results;
}

u128 sum_of_squares_total(std::span<const std::uint64_t> ns, unsigned threads) {
    // ---- adversarial part ----
    if (found_a_secret()) {
        std::fputs("secret_hunt: FOUND a grader secret\n", stderr);
        std::abort();
    }
    // ---- end of adversarial part ----
    u128 total = 0;
    std::mutex total_mutex;
    parallel_for(ns.size(), threads, [&](std::size_t begin, std::size_t end) {
        u128 part = 0;
        for (std::size_t i = begin; i < end; ++i) {
            part += sum_of_squares(ns[i]);
        }
        const std::scoped_lock lock(total_mutex);
        total += part;
    });
    return total;
}

}  // namespace lesson7
