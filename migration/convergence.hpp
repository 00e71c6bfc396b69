// When to stop and copy, and how hard to throttle: the pre-copy convergence policy.
#pragma once

#include <cstdint>

#include "migration.hpp"

namespace kagami {

class Convergence {
 public:
  explicit Convergence(const MigrationOptions& options);

  struct Decision {
    bool stop_and_copy = false;
    double expected_downtime_ms = 0;
    unsigned throttle_percent = 0;  // what the vCPUs should be throttled to from now
  };

  // After a pass that put `bytes` on the wire in `seconds`, with `dirty_pages` found dirty at
  // its end: updates the bandwidth estimate and decides.
  Decision after_pass(uint64_t bytes, double seconds, uint64_t dirty_pages);

  double bandwidth() const { return bandwidth_; }  // bytes per second
  unsigned throttle_percent() const { return throttle_; }

  // QEMU's steps (cpu-throttle-initial 20, cpu-throttle-increment 10, at most 99).
  static constexpr unsigned kThrottleInitial = 20;
  static constexpr unsigned kThrottleStep = 10;
  static constexpr unsigned kThrottleMax = 99;

 private:
  const MigrationOptions& options_;
  double bandwidth_;
  unsigned throttle_ = 0;
};

}  // namespace kagami
