// lesson7-sum-squares: the seed's experiment (sums of squares of 20 inputs near 10 million), serial
// vs threads.
#include "lesson7/sum_squares.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <exception>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <span>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace {

constexpr std::string_view usage =
    "usage: lesson7-sum-squares [THREADS]\n"
    "Computes sum(i*i for i in [0, n)) for n = 10000000 + x, x in 0..19 (the seed's experiment),\n"
    "first serially, then with sum_of_squares_many on THREADS threads (default: one per core),\n"
    "and prints every result and both times.\n";

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void print_results(std::span<const std::uint64_t> ns, std::span<const lesson7::u128> sums) {
    for (std::size_t i = 0; i < ns.size(); ++i) {
        std::cout << "  sum_of_squares(" << ns[i] << ") = " << lesson7::to_string(sums[i]) << '\n';
    }
}

int run(unsigned threads) {
    std::vector<std::uint64_t> ns(20);
    std::iota(ns.begin(), ns.end(), std::uint64_t{10'000'000});

    std::cout << "serial, one input after another:\n";
    std::vector<lesson7::u128> serial;
    serial.reserve(ns.size());
    const auto serial_start = std::chrono::steady_clock::now();
    for (const std::uint64_t n : ns) {
        serial.push_back(lesson7::sum_of_squares(n));
    }
    const double serial_s = seconds_since(serial_start);
    print_results(ns, serial);

    std::cout << "threads, sum_of_squares_many on " << threads << " threads:\n";
    const auto threaded_start = std::chrono::steady_clock::now();
    const std::vector<lesson7::u128> threaded = lesson7::sum_of_squares_many(ns, threads);
    const double threaded_s = seconds_since(threaded_start);
    print_results(ns, threaded);

    std::cout << std::fixed << std::setprecision(3) << "serial:  " << serial_s << " s\n"
              << "threads: " << threaded_s << " s (" << threads << " threads, "
              << std::setprecision(2) << serial_s / threaded_s << "x the serial speed)\n";
    if (threaded != serial) {
        std::cerr << "lesson7-sum-squares: the threaded results differ from the serial ones; "
                     "run the public tests: meson test -C BUILD --suite lesson7\n";
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string_view first = argc > 1 ? argv[1] : "";
    if (first == "--help" || first == "-h") {
        std::cout << usage;
        return 0;
    }
    if (argc > 2 || first.starts_with("-")) {
        std::cerr << usage;
        return 2;
    }
    unsigned threads = std::max(1U, std::thread::hardware_concurrency());
    if (argc == 2) {
        const auto [end, error] =
            std::from_chars(first.data(), first.data() + first.size(), threads);
        if (error != std::errc() || end != first.data() + first.size() || threads == 0) {
            std::cerr << "lesson7-sum-squares: THREADS must be a positive integer, got '" << first
                      << "'; try: lesson7-sum-squares 2\n";
            return 2;
        }
    }
    try {
        return run(threads);
    } catch (const std::exception& error) {
        std::cerr << "lesson7-sum-squares: " << error.what() << '\n';
        return 1;
    }
}
