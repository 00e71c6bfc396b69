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
    // The rest fits, but one more pass is expected to shrink it a lot: the next pass settles.
    bool settling = false;
    double expected_downtime_ms = 0;
    unsigned throttle_percent = 0;  // what the vCPUs should be throttled to from now
  };

  // After a pass that put `bytes` on the wire in `seconds`, with `dirty_pages` found dirty at
  // its end, `elapsed_ms` into the migration: updates the bandwidth estimate and decides. The
  // first call is taken for the full pass.
  Decision after_pass(uint64_t bytes, double seconds, uint64_t dirty_pages, double elapsed_ms = 0);

  double bandwidth() const { return bandwidth_; }  // bytes per second
  unsigned throttle_percent() const { return throttle_; }
  unsigned settle_passes() const { return settle_passes_; }

  // QEMU's steps (cpu-throttle-initial 20, cpu-throttle-increment 10, at most 99).
  static constexpr unsigned kThrottleInitial = 20;
  static constexpr unsigned kThrottleStep = 10;
  static constexpr unsigned kThrottleMax = 99;
  // Settling goes on only while each dirty pass leaves at most this fraction of what it sent.
  static constexpr double kSettleShrink = 0.5;
  // A rest expected to take this little is not worth another pass: the pause's fixed costs
  // (parking the vCPUs, the state, two round trips) are larger.
  static constexpr double kSettledMs = 1.0;

 private:
  bool settle(uint64_t bytes, uint64_t dirty_pages, bool full_pass, double expected_ms,
              double elapsed_ms);

  const MigrationOptions& options_;
  double bandwidth_;
  unsigned throttle_ = 0;
  unsigned passes_ = 0;
  unsigned settle_passes_ = 0;
};

}  // namespace kagami
