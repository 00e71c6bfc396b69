// The pre-copy convergence policy: bandwidth estimate, expected downtime, settling passes,
// auto-converge steps.
#include "convergence.hpp"

#include <algorithm>

#include "wire.hpp"

namespace kagami {
namespace {

// A pass shorter than this says little about the link (mostly zero markers or a few pages).
constexpr uint64_t kMinMeasuredBytes = 256 << 10;
// Until measured: the limit when there is one, else a guess at gigabit Ethernet.
constexpr double kGuessedBandwidth = 100e6;
// Bytes on the wire per page sent as data.
constexpr double kPageWireBytes = wire::kHeaderSize + 8 + wire::kPageSize;

}  // namespace

Convergence::Convergence(const MigrationOptions& options)
    : options_(options),
      bandwidth_(options.bandwidth_limit ? static_cast<double>(options.bandwidth_limit)
                                         : kGuessedBandwidth) {}

Convergence::Decision Convergence::after_pass(uint64_t bytes, double seconds, uint64_t dirty_pages,
                                              double elapsed_ms) {
  bool full_pass = passes_++ == 0;
  if (bytes >= kMinMeasuredBytes && seconds > 0) bandwidth_ = static_cast<double>(bytes) / seconds;
  Decision d;
  d.expected_downtime_ms = static_cast<double>(dirty_pages) * kPageWireBytes / bandwidth_ * 1e3;
  bool fits = d.expected_downtime_ms <= static_cast<double>(options_.downtime_limit_ms);
  if (fits) {
    d.settling = settle(bytes, dirty_pages, full_pass, d.expected_downtime_ms, elapsed_ms);
    d.stop_and_copy = !d.settling;
  }
  // Auto-converge as QEMU decides it: the guest dirtied more than half of what the link moved
  // in the same time. (Comparing with the whole send rate never fires for a guest that rewrites
  // a hot set larger than what fits the downtime: its dirty rate then equals the send rate.)
  double dirty_rate =
      seconds > 0 ? static_cast<double>(dirty_pages) * wire::kPageSize / seconds : 0;
  if (!fits && options_.auto_converge && dirty_rate > bandwidth_ / 2)
    throttle_ =
        throttle_ == 0 ? kThrottleInitial : std::min(kThrottleMax, throttle_ + kThrottleStep);
  d.throttle_percent = throttle_;
  return d;
}

// The rest fits. Stopping now copies it all while paused; one more pass copies it with the
// guest running, and the pause then copies only what the guest dirtied during that pass. That
// is worth it while the guest dirties clearly slower than the link sends: `dirtied` is the part
// of what the pass sent that the guest dirtied again meanwhile, which for a dirty pass is how
// much of the rest survived it. After the full pass (whose time also went into reading the
// untouched RAM, so it overstates the ratio) any shrink is worth a try.
bool Convergence::settle(uint64_t bytes, uint64_t dirty_pages, bool full_pass, double expected_ms,
                         double elapsed_ms) {
  if (settle_passes_ >= options_.max_settle_passes || expected_ms <= kSettledMs || bytes == 0)
    return false;
  double dirtied = static_cast<double>(dirty_pages) * kPageWireBytes / static_cast<double>(bytes);
  if (dirtied >= (full_pass ? 1.0 : kSettleShrink)) return false;
  // The next pass takes about the expected downtime; it and the pause after it (checked
  // against the time limit) must leave room, with a margin for the estimate.
  if (options_.time_limit_ms &&
      elapsed_ms + 2 * expected_ms > static_cast<double>(options_.time_limit_ms))
    return false;
  settle_passes_++;
  return true;
}

}  // namespace kagami
