// A timer on the event loop for device models' "call me back at deadline X" hooks.
#include "core/deadline_timer.hpp"

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

namespace kagami {

struct DeadlineTimer::State {
  State(boost::asio::io_context& io, std::function<void()> fn)
      : timer(io), on_expiry(std::move(fn)) {}
  boost::asio::steady_timer timer;  // used on the loop's thread only
  std::function<void()> on_expiry;  // emptied by ~DeadlineTimer
  std::atomic<uint64_t> generation{0};
};

DeadlineTimer::DeadlineTimer(EventLoop& loop, std::function<void()> on_expiry)
    : loop_(loop), state_(std::make_shared<State>(loop.context(), std::move(on_expiry))) {}

DeadlineTimer::~DeadlineTimer() {
  state_->generation++;
  state_->on_expiry = nullptr;
  state_->timer.cancel();
}

void DeadlineTimer::arm(std::optional<uint64_t> deadline_ns) {
  uint64_t generation = ++state_->generation;
  loop_.post([state = state_, generation, deadline_ns] {
    if (generation != state->generation.load()) return;  // a later request replaced this one
    state->timer.cancel();
    if (!deadline_ns) return;
    state->timer.expires_at(std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::nanoseconds(*deadline_ns))));
    state->timer.async_wait([state, generation](const boost::system::error_code& error) {
      if (!error && generation == state->generation.load() && state->on_expiry) state->on_expiry();
    });
  });
}

}  // namespace kagami
