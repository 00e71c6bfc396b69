// Token bucket for the migration bandwidth limit.
#include "rate_limiter.hpp"

#include <algorithm>
#include <thread>

namespace kagami {

RateLimiter::RateLimiter(uint64_t bytes_per_second, const std::atomic<bool>& cancelled)
    : rate_(bytes_per_second),
      capacity_(256 << 10),
      tokens_(0),
      last_(Clock::now()),
      cancelled_(cancelled) {}

void RateLimiter::refill() {
  Clock::time_point now = Clock::now();
  double seconds = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  tokens_ = std::min(capacity_, tokens_ + seconds * static_cast<double>(rate_));
}

// Tokens may go negative by one write: the debt is paid by the next wait, so the average rate
// holds whatever the write size.
void RateLimiter::acquire(uint64_t bytes) {
  if (rate_ == 0) return;
  refill();
  while (tokens_ < 0 && !cancelled_) {
    double wait = -tokens_ / static_cast<double>(rate_);
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(wait, 0.02)));
    refill();
  }
  tokens_ -= static_cast<double>(bytes);
}

}  // namespace kagami
