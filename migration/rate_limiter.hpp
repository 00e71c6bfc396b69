// The bandwidth limit: a token bucket the sender takes from before each write.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace kagami {

class RateLimiter {
 public:
  // `bytes_per_second` 0: no limit. Waits stop early when `cancelled` is set.
  RateLimiter(uint64_t bytes_per_second, const std::atomic<bool>& cancelled);

  // Blocks until `bytes` may be sent (in slices, so a cancel is seen within ~20 ms).
  void acquire(uint64_t bytes);

 private:
  using Clock = std::chrono::steady_clock;
  void refill();

  uint64_t rate_;
  // At most one write buffer of burst: a larger one would let a short pass through at link speed
  // and fool the bandwidth estimate that the downtime prediction rests on.
  double capacity_;
  double tokens_;
  Clock::time_point last_;
  const std::atomic<bool>& cancelled_;
};

}  // namespace kagami
