// The pre-copy convergence policy: bandwidth estimate, expected downtime, auto-converge steps.
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

Convergence::Decision Convergence::after_pass(uint64_t bytes, double seconds,
                                              uint64_t dirty_pages) {
  if (bytes >= kMinMeasuredBytes && seconds > 0) bandwidth_ = static_cast<double>(bytes) / seconds;
  Decision d;
  d.expected_downtime_ms = static_cast<double>(dirty_pages) * kPageWireBytes / bandwidth_ * 1e3;
  d.stop_and_copy = d.expected_downtime_ms <= static_cast<double>(options_.downtime_limit_ms);
  // Auto-converge as QEMU decides it: the guest dirtied more than half of what the link moved
  // in the same time. (Comparing with the whole send rate never fires for a guest that rewrites
  // a hot set larger than what fits the downtime: its dirty rate then equals the send rate.)
  double dirty_rate =
      seconds > 0 ? static_cast<double>(dirty_pages) * wire::kPageSize / seconds : 0;
  if (!d.stop_and_copy && options_.auto_converge && dirty_rate > bandwidth_ / 2)
    throttle_ =
        throttle_ == 0 ? kThrottleInitial : std::min(kThrottleMax, throttle_ + kThrottleStep);
  d.throttle_percent = throttle_;
  return d;
}

}  // namespace kagami
