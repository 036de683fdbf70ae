// Provided API of lesson 7.2: a process pool with the ThreadPool's interface, for registered
// functions.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "lesson7/thread_pool.hpp"

namespace lesson7 {

// The task threw in the worker process: what() carries the task's name, the worker's pid and the
// original message (the exception object itself cannot cross a process boundary).
class RemoteError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The worker process died (a signal, or an exit) while it ran this task. The pool replaced it.
class WorkerCrashed : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Provided. The byte format of arguments and results (Python pickles; we copy bytes): arithmetic
// types as their raw bytes (parent and worker are the same binary), std::string and std::vector
// as a 64-bit length and the elements, std::pair as its two members.
namespace wire {

class Reader {
  public:
    explicit Reader(std::string_view in) : in_(in) {}
    void raw(void* out, std::size_t n) {
        if (in_.size() - pos_ < n) {
            throw std::runtime_error("lesson7: wire: message too short (truncated or wrong types)");
        }
        std::memcpy(out, in_.data() + pos_, n);
        pos_ += n;
    }
    bool at_end() const { return pos_ == in_.size(); }

  private:
    std::string_view in_;
    std::size_t pos_ = 0;
};

template <class T>
struct Codec;

template <class T>
void encode(std::string& out, const T& value) {
    Codec<T>::put(out, value);
}
template <class T>
T decode(Reader& in) {
    return Codec<T>::get(in);
}

template <class T>
requires std::is_arithmetic_v<T>
struct Codec<T> {
    static void put(std::string& out, T v) {
        out.append(reinterpret_cast<const char*>(&v), sizeof v);  // NOLINT: bytes of a scalar
    }
    static T get(Reader& in) {
        T v{};
        in.raw(&v, sizeof v);
        return v;
    }
};

template <>
struct Codec<std::string> {
    static void put(std::string& out, const std::string& s) {
        encode<std::uint64_t>(out, s.size());
        out += s;
    }
    static std::string get(Reader& in) {
        const auto n = decode<std::uint64_t>(in);
        std::string s;
        // Grow as bytes arrive so a corrupt length fails in raw() rather than in a huge resize.
        for (std::uint64_t done = 0; done < n;) {
            const std::size_t step =
                static_cast<std::size_t>(std::min<std::uint64_t>(n - done, 65536));
            const std::size_t old = s.size();
            s.resize(old + step);
            in.raw(s.data() + old, step);
            done += step;
        }
        return s;
    }
};

template <class T>
struct Codec<std::vector<T>> {
    static void put(std::string& out, const std::vector<T>& v) {
        encode<std::uint64_t>(out, v.size());
        for (const auto& x : v) {
            encode<T>(out, x);
        }
    }
    static std::vector<T> get(Reader& in) {
        const auto n = decode<std::uint64_t>(in);
        std::vector<T> v;
        // No reserve(n): n comes off the pipe, and a corrupt count must not allocate before decode
        // fails.
        for (std::uint64_t i = 0; i < n; ++i) {
            v.push_back(decode<T>(in));  // NOLINT(performance-inefficient-vector-operation)
        }
        return v;
    }
};

template <class A, class B>
struct Codec<std::pair<A, B>> {
    static void put(std::string& out, const std::pair<A, B>& p) {
        encode<A>(out, p.first);
        encode<B>(out, p.second);
    }
    static std::pair<A, B> get(Reader& in) {
        A a = decode<A>(in);
        B b = decode<B>(in);
        return {std::move(a), std::move(b)};
    }
};

}  // namespace wire

namespace detail {

// Provided. Owns one file descriptor and closes it when destroyed or reset: a pipe end can no
// longer leak on an error path or be closed twice. Move-only, like std::unique_ptr.
class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        reset(other.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    // Gives up ownership without closing.
    int release() noexcept { return std::exchange(fd_, -1); }
    // Closes the current fd (if any) and owns `fd` instead. close() is not retried on EINTR: on
    // Linux the fd is released even then, and a retry could close someone else's new fd.
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) {
            static_cast<void>(::close(fd_));
        }
        fd_ = fd;
    }

  private:
    int fd_ = -1;
};

// Decodes the arguments from `args`, calls the function, appends the encoded result to `result`.
// Throws what the function throws, or std::runtime_error if the bytes do not decode.
using Thunk = void (*)(void (*fn)(), std::string_view args, std::string& result);

struct TaskEntry {
    std::string name;
    void (*fn)() = nullptr;      // the registered function, type-erased (cast back by the thunks)
    Thunk call = nullptr;        // one call: the arguments in order
    Thunk call_chunk = nullptr;  // map(): a std::vector of single arguments (null if arity != 1)
};

// Provided. The functions a ProcessPool may run, by name and by address. Filled before main() by
// LESSON7_REGISTER_TASK (static initialisation, single-threaded); read-only afterwards, so lookups
// need no lock.
class TaskRegistry {
  public:
    static TaskRegistry& instance() {
        static TaskRegistry registry;
        return registry;
    }
    void add(TaskEntry entry) { entries_.push_back(std::move(entry)); }
    const TaskEntry* find(std::string_view name) const {
        for (const auto& e : entries_) {
            if (e.name == name) {
                return &e;
            }
        }
        return nullptr;
    }
    const TaskEntry* find(void (*fn)()) const {
        for (const auto& e : entries_) {
            if (e.fn == fn) {
                return &e;
            }
        }
        return nullptr;
    }

  private:
    std::vector<TaskEntry> entries_;
};

template <class R, class... A>
void call_thunk(void (*erased)(), std::string_view args, std::string& result) {
    auto fn =
        reinterpret_cast<R (*)(A...)>(erased);  // NOLINT: undoing the cast made at registration
    wire::Reader in(args);
    // Braced initialisation evaluates left to right: the arguments decode in order.
    std::tuple<std::decay_t<A>...> values{wire::decode<std::decay_t<A>>(in)...};
    if constexpr (std::is_void_v<R>) {
        std::apply(fn, std::move(values));
    } else {
        wire::encode<std::decay_t<R>>(result, std::apply(fn, std::move(values)));
    }
}

template <class R, class A>
void chunk_thunk(void (*erased)(), std::string_view args, std::string& result) {
    auto fn = reinterpret_cast<R (*)(A)>(erased);  // NOLINT: undoing the cast made at registration
    wire::Reader in(args);
    const auto items = wire::decode<std::vector<std::decay_t<A>>>(in);
    std::vector<std::decay_t<R>> out;
    out.reserve(items.size());
    for (const auto& item : items) {
        out.push_back(fn(item));
    }
    wire::encode(result, out);
}

struct TaskRegistration {
    template <class R, class... A>
    TaskRegistration(const char* name, R (*fn)(A...)) {
        TaskEntry e;
        e.name = name;
        e.fn = reinterpret_cast<void (*)()>(fn);  // NOLINT: type-erased, cast back in the thunks
        e.call = &call_thunk<R, A...>;
        if constexpr (sizeof...(A) == 1 && !std::is_void_v<R>) {
            e.call_chunk = &chunk_thunk<R, A...>;
        }
        TaskRegistry::instance().add(std::move(e));
    }
};

// The request frame the parent sends: a kind byte ('c' one call, 'm' a map chunk), the task's
// name (wire-encoded std::string), then the encoded arguments up to the end of the frame.
// request_prefix is the frame up to the arguments: submit() encodes the arguments straight after
// it, so a large argument is copied once into the frame, not once per layer.
inline std::string request_prefix(char kind, const std::string& name) {
    std::string frame(1, kind);
    wire::encode(frame, name);
    return frame;
}
inline std::string make_request(char kind, const std::string& name, const std::string& args) {
    std::string frame = request_prefix(kind, name);
    frame += args;
    return frame;
}

// The argument as the parameter type wants it, without a copy when it already is one.
template <class P, class Arg>
decltype(auto) as_parameter(Arg&& arg) {
    if constexpr (std::is_same_v<std::decay_t<Arg>, P>) {
        return static_cast<const P&>(arg);
    } else {
        return static_cast<P>(std::forward<Arg>(arg));
    }
}

// YOU implement these four in src/process_pool.cpp.
//
// Writes one frame to `fd`: a 4-byte length (host order) then the payload, looping over partial
// writes and EINTR. Throws std::system_error if the write fails (EPIPE when the reader is gone;
// the thread that writes must block SIGPIPE, or that signal ends the whole program).
void write_frame(int fd, std::string_view payload);
// Reads one frame from `fd` into `payload`. Returns false on end of file before the first byte of
// a frame (the peer closed cleanly or died); throws std::runtime_error on end of file inside a
// frame and std::system_error on a read error.
bool read_frame(int fd, std::string& payload);
// The worker process's loop: reads request frames from request_fd until end of file, runs each
// registered task, writes one reply frame per request to reply_fd: 'o' + encoded result, or 'e' +
// an error message if the task threw or is unknown. Returns at end of file.
void worker_main(int request_fd, int reply_fd);

// Provided. A worker is this very program started again (fork + exec of /proc/self/exe: no fork
// of a multithreaded parent that keeps running). The pool sets LESSON7_PROCESS_WORKER=1 and puts
// the request pipe on fd 3 and the reply pipe on fd 4. This hook runs during static
// initialisation, after every LESSON7_REGISTER_TASK (those run first: init_priority), so the
// worker never reaches main(): tests and apps need no special main. Task functions therefore run
// before main(): they may use their arguments, constants and function-local statics.
inline int run_worker_if_requested() noexcept {
    const char* flag = std::getenv("LESSON7_PROCESS_WORKER");
    if (flag == nullptr || std::string_view(flag) != "1") {
        return 0;
    }
    ::unsetenv("LESSON7_PROCESS_WORKER");  // a task that starts programs must not start workers
    int status = 0;
    try {
        worker_main(3, 4);
    } catch (const std::exception& e) {
        std::cerr << "lesson7: process pool worker " << ::getpid() << " failed: " << e.what()
                  << '\n';
        status = 1;
    }
    std::cout.flush();
    std::_Exit(status);  // no static destructors, no atexit: the parent owns all shared state
}
inline const int worker_hook = run_worker_if_requested();

}  // namespace detail

// Registers `fn` (a plain function at namespace scope, by its unqualified name) so that a
// ProcessPool can run it. Write it at namespace scope of a .cpp file of the program:
//   int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
//   LESSON7_REGISTER_TASK(fib);
// Arguments and results must be wire-encodable (arithmetic, std::string, std::vector, std::pair).
#define LESSON7_REGISTER_TASK(fn)                                                                \
    [[gnu::init_priority(                                                                        \
        200)]] static const ::lesson7::detail::TaskRegistration lesson7_task_registration_##fn { \
        #fn, &(fn)                                                                               \
    }

// Worker processes that run registered functions; the same interface as ThreadPool, so switching
// is one line (ThreadPool pool(2);  ->  ProcessPool pool(2);) as long as the task is a registered
// function. What changes is the cost: every call crosses two pipes and copies its arguments and
// result (wire format), and each worker is a process that had to start.
//
// Threads: the constructor starts `workers` processes and one I/O thread of the parent. That
// thread sends tasks to idle workers, reads replies and completes futures, so done callbacks of
// process-pool futures run on the I/O thread: keep them short and never wait in them for another
// future of the same pool. submit/map/shutdown may be called from any thread.
// Crashes: a worker that dies while running a task completes that task's future with
// WorkerCrashed and is replaced by a fresh process; the pool keeps working.
// Errors: a task that throws in the worker completes its future with RemoteError; submitting an
// unregistered function throws std::invalid_argument; submit after shutdown throws
// PoolShutDownError.
// Processes: every worker is reaped (waitpid) when it dies or at shutdown: no zombies.
class ProcessPool {
  public:
    // Starts `workers` worker processes. Throws std::invalid_argument if workers == 0 and
    // std::system_error if a pipe or a process cannot be created.
    explicit ProcessPool(std::size_t workers);
    // shutdown(wait = true, cancel_pending = false).
    ~ProcessPool();
    ProcessPool(const ProcessPool&) = delete;
    ProcessPool& operator=(const ProcessPool&) = delete;
    ProcessPool(ProcessPool&&) = delete;
    ProcessPool& operator=(ProcessPool&&) = delete;

    // Runs fn(args...) in a worker and returns its future. The arguments are converted to fn's
    // parameter types and encoded now, in the calling thread.
    template <class R, class... A, class... Args>
    Future<std::decay_t<R>> submit(R (*fn)(A...), Args&&... args) {
        static_assert(sizeof...(A) == sizeof...(Args),
                      "submit(fn, args...): wrong number of arguments");
        const detail::TaskEntry& entry = entry_of(reinterpret_cast<void (*)()>(fn));  // NOLINT
        std::string frame = detail::request_prefix('c', entry.name);
        (wire::encode<std::decay_t<A>>(
             frame, detail::as_parameter<std::decay_t<A>>(std::forward<Args>(args))),
         ...);
        return send<std::decay_t<R>>(std::move(frame));
    }

    // Like ThreadPool::map for a registered one-argument function: `chunk_size` items travel in
    // one message (fewer, larger messages amortise the pipe round trip).
    template <class R, class A>
    std::vector<std::decay_t<R>> map(R (*fn)(A), const std::vector<std::decay_t<A>>& items,
                                     std::size_t chunk_size = 1) {
        using Out = std::decay_t<R>;
        const detail::TaskEntry& entry = entry_of(reinterpret_cast<void (*)()>(fn));  // NOLINT
        std::vector<Future<std::vector<Out>>> parts;
        for (auto [begin, end] : detail::plan_chunks(items.size(), chunk_size)) {
            std::vector<std::decay_t<A>> chunk(items.begin() + static_cast<std::ptrdiff_t>(begin),
                                               items.begin() + static_cast<std::ptrdiff_t>(end));
            std::string frame = detail::request_prefix('m', entry.name);
            wire::encode(frame, chunk);
            parts.push_back(send<std::vector<Out>>(std::move(frame)));
        }
        std::vector<Out> results;
        results.reserve(items.size());
        for (const auto& part : parts) {
            part.wait();
        }
        for (const auto& part : parts) {
            const auto& values = part.get();
            results.insert(results.end(), values.begin(), values.end());
        }
        return results;
    }

    // As ThreadPool::shutdown. After it returns with wait = true, every worker has exited and been
    // reaped. Idempotent.
    void shutdown(bool wait = true, bool cancel_pending = false);

    std::size_t size() const { return size_; }
    // The pids of the current workers (replacements included), for tests and monitoring. A dead
    // worker's pid leaves the list before the worker is reaped (the system may reuse it).
    std::vector<pid_t> worker_pids() const;
    // Processes started so far, replacements included.
    std::uint64_t workers_started() const;
    // Exceptions from done callbacks of this pool's futures.
    ErrorLog& errors() const { return *log_; }

  private:
    // One task on its way: the request frame, its future's state, and how to store the reply's
    // encoded result into that state (set_value; throws if the bytes do not decode).
    struct Request {
        std::string frame;
        std::shared_ptr<detail::StateBase> state;
        std::function<void(std::string_view)> deliver;
    };
    struct Worker {
        pid_t pid = -1;
        detail::UniqueFd request;     // the parent writes requests here
        detail::UniqueFd reply;       // the parent reads replies here
        std::optional<Request> busy;  // the task this worker runs now
    };
    // Optional: state and helpers of the I/O thread, if you want them. Declared here so that it
    // may use the pool's private members; define it in src/process_pool.cpp (or never).
    class IoLoop;

    static const detail::TaskEntry& entry_of(void (*fn)()) {
        const detail::TaskEntry* e = detail::TaskRegistry::instance().find(fn);
        if (e == nullptr) {
            throw std::invalid_argument(
                "lesson7: ProcessPool can only run registered functions: add "
                "LESSON7_REGISTER_TASK(name) after the function's definition");
        }
        return *e;
    }

    template <class R>
    Future<R> send(std::string frame) {
        auto state = std::make_shared<detail::State<R>>(log_);
        detail::State<R>* raw = state.get();
        Request req{std::move(frame), state, [raw](std::string_view bytes) {
                        if constexpr (std::is_void_v<R>) {
                            static_cast<void>(raw);  // a void task has no value to decode
                            static_cast<void>(bytes);
                        } else {
                            wire::Reader in(bytes);
                            raw->set_value(wire::decode<R>(in));
                        }
                    }};
        enqueue(std::move(req));
        return Future<R>(std::move(state));
    }

    // YOU implement these in src/process_pool.cpp.
    void enqueue(Request req);  // any thread; throws PoolShutDownError after shutdown began
    Worker spawn_worker();      // starts one worker process (see run_worker_if_requested)
    void io_loop();             // the I/O thread: dispatch, read replies, detect crashes

    std::shared_ptr<ErrorLog> log_ = std::make_shared<ErrorLog>();
    std::size_t size_ = 0;
    mutable std::mutex mutex_;
    std::deque<Request> pending_;  // guarded by mutex_
    std::vector<Worker> workers_;  // guarded by mutex_ (pids); fds and busy: I/O thread only
    bool stopping_ = false;        // guarded by mutex_
    std::uint64_t started_ = 0;    // guarded by mutex_
    // A pipe: enqueue() and shutdown() write a byte to wake the I/O thread (non-blocking ends).
    detail::UniqueFd wake_read_;
    detail::UniqueFd wake_write_;
    std::thread io_thread_;
    std::mutex join_mutex_;
};

}  // namespace lesson7
