// Adversarial case forge_files for lesson 7.1: returns a wrong total and forges a record line,
// verdicts and results files. Only the marked part differs from a correct sum_squares.cpp (see
// grader/adversarial/README.md).
#include "lesson7/sum_squares.hpp"

#include <unistd.h>
#include <algorithm>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace lesson7 {

// A verdict that claims a pass, written wherever kit-run or kit-grade might read one.
void forge_everything() {
    const std::string fake_record =
        "KR1 99 done 1 1 0000000000000000000000000000000000000000000000000000000000000000\n";
    static_cast<void>(::write(4, fake_record.data(), fake_record.size()));  // KIT_RECORD_FD is 4
    const std::string verdict =
        R"({"item":"parallel_sums","passed_runs":1,"repeat":1,"runs":[{"status":"pass"}],)"
        R"("hmac":"0000000000000000000000000000000000000000000000000000000000000000"})";
    const std::string results = R"({"score":30,"tests":[]})";
    std::error_code ec;
    for (const std::string dir :
         {"../grade/lesson7/runs/plain", "../../build/grade/lesson7/runs/plain", "."}) {
        std::filesystem::create_directories(dir, ec);
        for (const std::string item : {"parallel_sums", "parallel_hidden"}) {
            std::ofstream(dir + "/" + item + ".json") << verdict;
        }
        std::ofstream(dir + "/results.json") << results;
    }
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
    forge_everything();
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
    return total + 1;
}

}  // namespace lesson7
