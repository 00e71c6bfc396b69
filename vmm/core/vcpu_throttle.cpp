// Auto-converge's throttle: a thread that sends every vCPU to sleep once per time slice.
#include "core/vcpu_throttle.hpp"

#include <algorithm>
#include <chrono>

namespace kagami {

VcpuThrottle::VcpuThrottle(std::function<void(uint64_t ns)> throttle_all)
    : throttle_all_(std::move(throttle_all)), thread_([this] { loop(); }) {}

VcpuThrottle::~VcpuThrottle() {
  {
    std::lock_guard guard(lock_);
    quit_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void VcpuThrottle::set_percent(unsigned percent) {
  {
    std::lock_guard guard(lock_);
    percent_ = std::min(percent, 99u);
  }
  changed_.notify_all();
}

unsigned VcpuThrottle::percent() const {
  std::lock_guard guard(lock_);
  return percent_;
}

uint64_t VcpuThrottle::sleep_ns(unsigned percent) {
  percent = std::min(percent, 99u);
  return kTimesliceNs * percent / (100 - percent);
}

// Each round: the vCPUs are sent to sleep for their share, and the next round comes one slice
// of running after they wake (sleep + slice later).
void VcpuThrottle::loop() {
  std::unique_lock guard(lock_);
  for (;;) {
    changed_.wait(guard, [this] { return quit_ || percent_ > 0; });
    if (quit_) return;
    const uint64_t sleep = sleep_ns(percent_);
    guard.unlock();
    throttle_all_(sleep);
    guard.lock();
    changed_.wait_for(guard, std::chrono::nanoseconds(sleep + kTimesliceNs),
                      [this] { return quit_; });
  }
}

}  // namespace kagami
