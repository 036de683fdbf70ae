// The GIL chart redrawn for C++: serial, threads, processes and a libuv loop on CPU-bound and
// wait-bound work.
//
// Workloads (20 tasks each, as in the seed): "cpu" computes sum_of_squares(10,000,000 + x) for x in
// 0..19; "wait" waits 10 ms per task. Strategies: serial (one task after another), threads
// (lesson7::parallel_for with one thread per core or one per task), processes (fork one child per
// core or per task; each child returns its 128-bit results through a pipe and is reaped with
// waitpid), event_loop (one libuv loop thread; a task is a timer callback, so CPU work runs one
// callback at a time, while the 10 ms waits are timers that overlap). The times are wall-clock
// (UseRealTime). After the usual table the program prints each strategy's speed relative to serial.
#include "lesson7/sum_squares.hpp"

#include <benchmark/benchmark.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iomanip>
#include <map>
#include <numeric>
#include <ostream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace {

using lesson7::u128;

constexpr std::size_t task_count = 20;
constexpr std::chrono::milliseconds wait_time{10};

enum class Workload { cpu, wait };

const std::vector<std::uint64_t>& cpu_inputs() {
    static const std::vector<std::uint64_t> inputs = [] {
        std::vector<std::uint64_t> ns(task_count);
        std::iota(ns.begin(), ns.end(), std::uint64_t{10'000'000});
        return ns;
    }();
    return inputs;
}

// One task of a workload: the CPU task returns its sum, the wait task sleeps and returns 0.
u128 run_task(Workload workload, std::size_t index) {
    if (workload == Workload::cpu) {
        return lesson7::sum_of_squares(cpu_inputs()[index]);
    }
    std::this_thread::sleep_for(wait_time);
    return 0;
}

// The expected CPU results, from the closed form, to check every strategy's answers.
bool cpu_results_are_right(const std::vector<u128>& results) {
    for (std::size_t i = 0; i < task_count; ++i) {
        const u128 n = cpu_inputs()[i];
        if (results.at(i) != n * (n - 1) * (2 * n - 1) / 6) {
            return false;
        }
    }
    return true;
}

std::vector<u128> run_serial(Workload workload) {
    std::vector<u128> results(task_count);
    for (std::size_t i = 0; i < task_count; ++i) {
        results[i] = run_task(workload, i);
    }
    return results;
}

std::vector<u128> run_threads(Workload workload, unsigned workers) {
    std::vector<u128> results(task_count);
    lesson7::parallel_for(task_count, workers, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
            results[i] = run_task(workload, i);
        }
    });
    return results;
}

// Writes or reads exactly `size` bytes, retrying short transfers; false on error or early EOF.
bool write_all(int fd, const void* data, std::size_t size) {
    const auto* bytes = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t done = ::write(fd, bytes, size);
        if (done < 0 && errno == EINTR) {
            continue;
        }
        if (done <= 0) {
            return false;
        }
        bytes += done;
        size -= static_cast<std::size_t>(done);
    }
    return true;
}

bool read_all(int fd, void* data, std::size_t size) {
    auto* bytes = static_cast<char*>(data);
    while (size > 0) {
        const ssize_t done = ::read(fd, bytes, size);
        if (done < 0 && errno == EINTR) {
            continue;
        }
        if (done <= 0) {
            return false;
        }
        bytes += done;
        size -= static_cast<std::size_t>(done);
    }
    return true;
}

struct Child {
    pid_t pid;
    int read_fd;
    std::size_t begin;
    std::size_t end;
};

// Reaps one child (no zombie is left behind); true if it exited with status 0.
bool reap(const Child& child) {
    ::close(child.read_fd);
    int status = 0;
    while (::waitpid(child.pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return false;
        }
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Forks min(task_count, workers) children, each running a contiguous chunk of the tasks and
// writing its results into a pipe. Every forked child is reaped, on success and on failure.
std::vector<u128> run_processes(Workload workload, unsigned workers) {
    const std::size_t chunks = std::min<std::size_t>(task_count, workers);
    std::vector<u128> results(task_count);
    std::vector<Child> children;
    bool ok = true;
    for (std::size_t k = 0, begin = 0; k < chunks && ok; ++k) {
        const std::size_t end = begin + task_count / chunks + (k < task_count % chunks ? 1 : 0);
        int fds[2] = {-1, -1};
        if (::pipe(fds) != 0) {
            ok = false;
            break;
        }
        const pid_t pid = ::fork();
        if (pid == 0) {
            // The child: compute the chunk, send it, and leave without running the parent's
            // destructors or atexit handlers (_exit, not exit).
            ::close(fds[0]);
            std::vector<u128> part;
            for (std::size_t i = begin; i < end; ++i) {
                part.push_back(run_task(workload, i));
            }
            const bool sent = write_all(fds[1], part.data(), part.size() * sizeof(u128));
            ::_exit(sent ? 0 : 1);
        }
        ::close(fds[1]);  // the parent keeps only the read end, so EOF arrives if a child dies
        if (pid < 0) {
            ::close(fds[0]);
            ok = false;
            break;
        }
        children.push_back({pid, fds[0], begin, end});
        begin = end;
    }
    for (const Child& child : children) {
        const bool received = ok && read_all(child.read_fd, &results[child.begin],
                                             (child.end - child.begin) * sizeof(u128));
        ok = reap(child) && received;
    }
    if (!ok) {
        throw std::system_error(errno, std::generic_category(),
                                "gil_chart: a worker process failed");
    }
    return results;
}

// One libuv loop on this thread; every task is a timer callback (0 ms for CPU work, 10 ms for a
// wait). Callbacks never overlap: the loop runs the next one only when the previous returns.
std::vector<u128> run_event_loop(Workload workload) {
    struct Context {
        Workload workload;
        std::vector<u128>* results;
    };
    struct Timer {
        uv_timer_t handle;
        Context* context;
        std::size_t index;
    };
    std::vector<u128> results(task_count);
    Context context{workload, &results};
    std::vector<Timer> timers(task_count);
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) {
        throw std::runtime_error("gil_chart: uv_loop_init failed");
    }
    const auto timeout =
        workload == Workload::cpu ? 0 : static_cast<std::uint64_t>(wait_time.count());
    for (std::size_t i = 0; i < task_count; ++i) {
        Timer& timer = timers[i];
        timer.context = &context;
        timer.index = i;
        uv_timer_init(&loop, &timer.handle);
        timer.handle.data = &timer;
        uv_timer_start(
            &timer.handle,
            [](uv_timer_t* handle) {
                const auto* self = static_cast<Timer*>(handle->data);
                if (self->context->workload == Workload::cpu) {
                    (*self->context->results)[self->index] =
                        lesson7::sum_of_squares(cpu_inputs()[self->index]);
                }
                // The handle's memory (in `timers`) outlives uv_run, so no close callback is
                // needed.
                uv_close(reinterpret_cast<uv_handle_t*>(handle), nullptr);
            },
            timeout, 0);
    }
    uv_run(&loop, UV_RUN_DEFAULT);  // returns once every timer has fired and been closed
    uv_loop_close(&loop);
    return results;
}

template <typename Strategy>
void measure(benchmark::State& state, Workload workload, Strategy strategy) {
    std::vector<u128> results;
    try {
        for (auto _ : state) {
            results = strategy();
            benchmark::DoNotOptimize(results.data());
            benchmark::ClobberMemory();
        }
    } catch (const std::exception& error) {
        state.SkipWithError(error.what());
        return;
    }
    if (workload == Workload::cpu && !cpu_results_are_right(results)) {
        state.SkipWithError("wrong sums: run the lesson7 tests against this build");
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(task_count));
}

// Prints the usual console table, then each benchmark's speed relative to serial on its workload.
class RatioReporter : public benchmark::ConsoleReporter {
  public:
    // Colour only on a terminal and never under NO_COLOR (a custom reporter does not see
    // --benchmark_color).
    RatioReporter()
        : ConsoleReporter(::isatty(STDOUT_FILENO) != 0 && std::getenv("NO_COLOR") == nullptr
                              ? OO_ColorTabular
                              : OO_Tabular) {}

    void ReportRuns(const std::vector<Run>& reports) override {
        ConsoleReporter::ReportRuns(reports);
        // One figure per benchmark: the single run, or the median when repetitions are asked for.
        for (const Run& run : reports) {
            const bool single = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
            const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
            if (single || median) {
                times_.emplace_back(run.benchmark_name(), run.GetAdjustedRealTime());
            }
        }
    }
    void Finalize() override {
        ConsoleReporter::Finalize();
        // Names look like "threads/cpu/workers:2/real_time": the second part is the workload.
        const auto workload_of = [](const std::string& name) {
            const std::size_t first = name.find('/');
            return name.substr(first + 1, name.find('/', first + 1) - first - 1);
        };
        std::map<std::string, double> serial;
        for (const auto& [name, time] : times_) {
            if (name.starts_with("serial/")) {
                serial[workload_of(name)] = time;
            }
        }
        std::ostream& out = GetOutputStream();
        out << "\nspeed relative to serial on the same workload (higher is faster):\n";
        for (const auto& [name, time] : times_) {
            const auto found = serial.find(workload_of(name));
            if (found != serial.end() && time > 0) {
                out << "  " << std::left << std::setw(40) << name << std::right << std::fixed
                    << std::setprecision(2) << std::setw(7) << found->second / time << "x\n";
            }
        }
    }

  private:
    std::vector<std::pair<std::string, double>> times_;
};

void serial(benchmark::State& state, Workload workload) {
    measure(state, workload, [&] { return run_serial(workload); });
}

void threads(benchmark::State& state, Workload workload) {
    const auto workers = static_cast<unsigned>(state.range(0));
    measure(state, workload, [&] { return run_threads(workload, workers); });
}

void processes(benchmark::State& state, Workload workload) {
    const auto workers = static_cast<unsigned>(state.range(0));
    measure(state, workload, [&] { return run_processes(workload, workers); });
}

void event_loop(benchmark::State& state, Workload workload) {
    measure(state, workload, [&] { return run_event_loop(workload); });
}

// Two worker counts: one per core (the usual pool size) and one per task.
void worker_counts(benchmark::internal::Benchmark* benchmark) {
    const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
    benchmark->ArgName("workers")->Arg(cores)->Arg(static_cast<std::int64_t>(task_count));
}

BENCHMARK_CAPTURE(serial, cpu, Workload::cpu)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(threads, cpu, Workload::cpu)
    ->Apply(worker_counts)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(processes, cpu, Workload::cpu)
    ->Apply(worker_counts)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(event_loop, cpu, Workload::cpu)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(serial, wait, Workload::wait)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(threads, wait, Workload::wait)
    ->Apply(worker_counts)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(processes, wait, Workload::wait)
    ->Apply(worker_counts)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(event_loop, wait, Workload::wait)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    return 0;
}
