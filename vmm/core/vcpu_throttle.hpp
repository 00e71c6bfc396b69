// Auto-converge: keeps every vCPU out of the guest for a share of its time, as QEMU's
// cpu-throttle, so that a guest dirtying memory faster than the link carries it slows down.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace kagami {

class VcpuThrottle {
 public:
  // The time slice the guest runs between two throttle sleeps (QEMU's is 10 ms too).
  static constexpr uint64_t kTimesliceNs = 10'000'000;

  // `throttle_all(ns)` asks every vCPU thread to leave KVM_RUN and sleep ns; it is called from
  // this object's thread.
  explicit VcpuThrottle(std::function<void(uint64_t ns)> throttle_all);
  ~VcpuThrottle();
  VcpuThrottle(const VcpuThrottle&) = delete;
  VcpuThrottle& operator=(const VcpuThrottle&) = delete;

  // 0 stops throttling; at most 99. Thread-safe.
  void set_percent(unsigned percent);
  unsigned percent() const;

  // For a share p the vCPU sleeps slice * p / (1 - p) after each slice of running.
  static uint64_t sleep_ns(unsigned percent);

 private:
  void loop();

  const std::function<void(uint64_t)> throttle_all_;
  mutable std::mutex lock_;  // guards percent_, quit_
  std::condition_variable changed_;
  unsigned percent_ = 0;
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace kagami
