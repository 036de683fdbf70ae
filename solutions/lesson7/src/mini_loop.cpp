// Reference solution of lesson 7.3, task 1: an event loop of one's own (ready queue, timer heap,
// poll(2) on readers).
#include "lesson7/mini_loop.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace lesson7::mini {

// One scheduled callback. The callback is moved out before it runs (see run_ready), so an empty
// `cb` means "ran or cancelled": a cancelled entry left in the ready queue or the heap is skipped.
struct HandleState {
    Callback cb;
    bool cancelled = false;
};

void Handle::cancel() {
    if (state_ && state_->cb) {
        state_->cancelled = true;
        // Let go of the captures now, not when the entry reaches the front of its queue.
        state_->cb = nullptr;
    }
}

bool Handle::cancelled() const {
    return state_ && state_->cancelled;
}

namespace {

struct Timer {
    TimePoint when;
    std::uint64_t seq;  // insertion order: breaks ties between equal deadlines
    std::shared_ptr<HandleState> state;
};

// std::push_heap keeps the "largest" element at the front; "larger" here means "due earlier".
bool runs_later(const Timer& a, const Timer& b) {
    if (a.when != b.when) {
        return a.when > b.when;
    }
    return a.seq > b.seq;
}

// A registered reader. Shared with the ready queue, so that remove_reader() from any callback
// (the reader's own included) is seen before the reader's turn comes.
struct Reader {
    Callback cb;
    bool removed = false;
};

// Sets a flag for as long as it lives.
class RunningFlag {
  public:
    explicit RunningFlag(bool& flag) : flag_(flag) { flag_ = true; }
    RunningFlag(const RunningFlag&) = delete;
    RunningFlag& operator=(const RunningFlag&) = delete;
    ~RunningFlag() { flag_ = false; }

  private:
    bool& flag_;
};

}  // namespace

struct Loop::Impl {
    std::deque<std::shared_ptr<HandleState>> ready;
    std::vector<Timer> timers;  // a binary heap ordered by runs_later
    std::uint64_t next_seq = 0;
    std::map<int, std::shared_ptr<Reader>> readers;
    std::vector<pollfd> pollfds;  // reused every iteration
    bool stopping = false;
    bool running = false;

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    // A callback may hold a copy of its own Handle, which holds the callback: break such cycles
    // for every callback that never ran, or they would leak.
    ~Impl() {
        for (const auto& h : ready) {
            h->cb = nullptr;
        }
        for (const auto& t : timers) {
            t.state->cb = nullptr;
        }
    }

    // Drops cancelled timers from the top of the heap, so that the next deadline is a live one.
    void drop_cancelled_timers() {
        while (!timers.empty() && !timers.front().state->cb) {
            std::pop_heap(timers.begin(), timers.end(), runs_later);
            timers.pop_back();
        }
    }

    std::optional<Duration> wait_timeout(Clock& clock) {
        if (!ready.empty() || stopping) {
            return Duration::zero();
        }
        if (timers.empty()) {
            return std::nullopt;
        }
        return std::max(Duration::zero(), timers.front().when - clock.now());
    }

    void poll_readers(Clock& clock, std::optional<Duration> timeout) {
        pollfds.clear();
        for (const auto& [fd, reader] : readers) {
            pollfds.push_back(pollfd{fd, POLLIN, 0});
        }
        if (clock.wait(pollfds, timeout) <= 0) {
            return;
        }
        std::vector<int> invalid;
        for (const pollfd& p : pollfds) {
            if ((p.revents & POLLNVAL) != 0) {
                invalid.push_back(p.fd);
            } else if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                // The wrapper checks `removed` when its turn comes, not now: an earlier callback
                // of this same run phase may still remove this reader.
                auto state = std::make_shared<HandleState>();
                state->cb = [reader = readers.at(p.fd)] {
                    if (!reader->removed) {
                        reader->cb();
                    }
                };
                ready.push_back(std::move(state));
            }
        }
        if (!invalid.empty()) {
            for (const int fd : invalid) {
                readers.at(fd)->removed = true;
                readers.erase(fd);
            }
            throw std::logic_error("lesson7::mini::Loop: descriptor " +
                                   std::to_string(invalid.front()) +
                                   " was closed while it still had a reader (poll says POLLNVAL); "
                                   "call remove_reader(fd) before close(fd)");
        }
    }

    void collect_due_timers(Clock& clock) {
        const TimePoint now = clock.now();
        while (!timers.empty() && timers.front().when <= now) {
            std::pop_heap(timers.begin(), timers.end(), runs_later);
            std::shared_ptr<HandleState> state = std::move(timers.back().state);
            timers.pop_back();
            if (state->cb) {
                ready.push_back(std::move(state));
            }
        }
    }

    // Runs the callbacks that are ready now, and only those: what they schedule waits for the next
    // iteration. Each entry leaves the queue before it runs, so if it throws, the rest of this
    // batch is still at the front of the queue, in order.
    void run_ready() {
        for (std::size_t n = ready.size(); n > 0; --n) {
            std::shared_ptr<HandleState> state = std::move(ready.front());
            ready.pop_front();
            if (!state->cb) {
                continue;
            }
            // Move the callback out first: if it cancels its own handle, it must not destroy the
            // std::function that is running.
            const Callback cb = std::move(state->cb);
            state->cb = nullptr;
            cb();
        }
    }

    void run_once(Clock& clock) {
        drop_cancelled_timers();
        if (ready.empty() && timers.empty() && readers.empty() && !stopping) {
            throw std::logic_error(
                "lesson7::mini::Loop::run_until: nothing is scheduled (no ready callback, no "
                "timer, no reader), so the loop would wait forever; the awaited condition can "
                "never become true");
        }
        const std::optional<Duration> timeout = wait_timeout(clock);
        poll_readers(clock, timeout);
        collect_due_timers(clock);
        run_ready();
    }
};

Loop::Loop(Clock& clock) : clock_(&clock), impl_(std::make_unique<Impl>()) {}

Loop::~Loop() = default;

Handle Loop::call_soon(Callback cb) {
    if (!cb) {
        throw std::invalid_argument("lesson7::mini::Loop::call_soon: empty callback");
    }
    auto state = std::make_shared<HandleState>();
    state->cb = std::move(cb);
    impl_->ready.push_back(state);
    return Handle(std::move(state));
}

Handle Loop::call_at(TimePoint when, Callback cb) {
    if (!cb) {
        throw std::invalid_argument("lesson7::mini::Loop::call_at: empty callback");
    }
    auto state = std::make_shared<HandleState>();
    state->cb = std::move(cb);
    impl_->timers.push_back(Timer{when, impl_->next_seq++, state});
    std::push_heap(impl_->timers.begin(), impl_->timers.end(), runs_later);
    return Handle(std::move(state));
}

Handle Loop::call_later(Duration delay, Callback cb) {
    return call_at(clock_->now() + std::max(delay, Duration::zero()), std::move(cb));
}

void Loop::add_reader(int fd, Callback cb) {
    if (fd < 0) {
        throw std::invalid_argument("lesson7::mini::Loop::add_reader: negative descriptor " +
                                    std::to_string(fd));
    }
    if (!cb) {
        throw std::invalid_argument("lesson7::mini::Loop::add_reader: empty callback");
    }
    auto reader = std::make_shared<Reader>();
    reader->cb = std::move(cb);
    auto [it, inserted] = impl_->readers.try_emplace(fd, reader);
    if (!inserted) {
        // The old reader may be running right now (replacing itself): flag it, never destroy it
        // here; the ready-queue wrapper that is running it keeps it alive.
        it->second->removed = true;
        it->second = std::move(reader);
    }
}

bool Loop::remove_reader(int fd) {
    const auto it = impl_->readers.find(fd);
    if (it == impl_->readers.end()) {
        return false;
    }
    it->second->removed = true;
    impl_->readers.erase(it);
    return true;
}

bool Loop::run_until(const std::function<bool()>& done) {
    if (impl_->running) {
        throw std::logic_error(
            "lesson7::mini::Loop::run_until: the loop is already running (called from a "
            "callback?); schedule the work with call_soon instead");
    }
    // Clear `running` on every way out, exceptions from callbacks included.
    const RunningFlag running(impl_->running);
    if (done()) {
        return true;
    }
    for (;;) {
        impl_->run_once(*clock_);
        if (done()) {
            impl_->stopping = false;
            return true;
        }
        if (impl_->stopping) {
            impl_->stopping = false;
            return false;
        }
    }
}

void Loop::stop() {
    impl_->stopping = true;
}

}  // namespace lesson7::mini
