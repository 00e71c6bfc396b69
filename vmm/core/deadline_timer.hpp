// A timer on the event loop for device models that ask, from any thread, to be called back at
// a deadline (the PIT's and the RTC's timer hooks).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "core/event_loop.hpp"

namespace kagami {

class DeadlineTimer {
 public:
  // on_expiry runs on the loop's thread at or after the deadline.
  DeadlineTimer(EventLoop& loop, std::function<void()> on_expiry);
  // No callback runs after this returns; handlers already queued on the loop become no-ops
  // (the loop outlives a machine rebuilt after a reset). Destroy it while the loop is not
  // running handlers on another thread.
  ~DeadlineTimer();
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  // Thread-safe. Calls on_expiry at deadline_ns (CLOCK_MONOTONIC nanoseconds, the clock of
  // std::chrono::steady_clock), or cancels with nullopt. Only the latest request counts.
  void arm(std::optional<uint64_t> deadline_ns);

 private:
  struct State;
  EventLoop& loop_;
  std::shared_ptr<State> state_;
};

}  // namespace kagami
