// The convergence policy's settling passes (more dirty passes once the rest fits, while they
// halve it), and the downtime phases a completed migration reports.
#include "convergence.hpp"

#include <gtest/gtest.h>

#include "harness.hpp"

namespace kagami::test {
namespace {

constexpr uint64_t kWire = 4112;  // bytes on the wire per data page

// A dirty pass that sent `sent` pages in the time the link needs for them at `bandwidth`, and
// found `dirty` pages dirty at its end.
Convergence::Decision dirty_pass(Convergence& c, uint64_t sent, uint64_t dirty,
                                 double bandwidth = 1e9, double elapsed_ms = 0) {
  uint64_t bytes = sent * kWire;
  return c.after_pass(bytes, static_cast<double>(bytes) / bandwidth, dirty, elapsed_ms);
}

// The full pass of the benchmark's guest at 256 MiB/s: 260 MB sent in 0.6 s, 29,000 pages
// (119 MB, ~275 ms at the measured 433 MB/s) dirty again: it fits 300 ms.
Convergence::Decision full_pass(Convergence& c, double elapsed_ms = 600) {
  return c.after_pass(260'000'000, 0.6, 29'000, elapsed_ms);
}

TEST(ConvergenceSettling, AFittingRestAfterTheFullPassIsSettledFirst) {
  MigrationOptions o;
  Convergence c(o);
  auto d = full_pass(c);
  EXPECT_LE(d.expected_downtime_ms, 300);
  EXPECT_TRUE(d.settling);
  EXPECT_FALSE(d.stop_and_copy);
}

TEST(ConvergenceSettling, GoesOnWhilePassesHalveTheRestThenStops) {
  MigrationOptions o;
  Convergence c(o);
  ASSERT_TRUE(full_pass(c).settling);
  EXPECT_TRUE(dirty_pass(c, 29'000, 7'000).settling);  // 0.24 of it left
  EXPECT_TRUE(dirty_pass(c, 7'000, 2'000).settling);   // 0.29
  auto d = dirty_pass(c, 2'000, 1'100);                // 0.55: no longer halves
  EXPECT_FALSE(d.settling);
  EXPECT_TRUE(d.stop_and_copy);
  EXPECT_EQ(c.settle_passes(), 3u);
}

TEST(ConvergenceSettling, StopsOnceTheRestIsTooSmallToMatter) {
  MigrationOptions o;
  Convergence c(o);
  ASSERT_TRUE(full_pass(c).settling);
  ASSERT_TRUE(dirty_pass(c, 29'000, 1'000).settling);  // 4.1 ms at 1 GB/s
  auto d = dirty_pass(c, 1'000, 200);                  // 0.8 ms: under kSettledMs
  EXPECT_LT(d.expected_downtime_ms, Convergence::kSettledMs);
  EXPECT_TRUE(d.stop_and_copy);
}

TEST(ConvergenceSettling, ZeroSettlePassesStopsAtTheFirstFitAsQemu) {
  MigrationOptions o;
  o.max_settle_passes = 0;
  Convergence c(o);
  auto d = full_pass(c);
  EXPECT_TRUE(d.stop_and_copy);
  EXPECT_FALSE(d.settling);
}

TEST(ConvergenceSettling, TheNumberOfSettlingPassesIsCapped) {
  MigrationOptions o;
  o.max_settle_passes = 2;
  Convergence c(o);
  ASSERT_TRUE(full_pass(c).settling);
  ASSERT_TRUE(dirty_pass(c, 29'000, 10'000).settling);
  auto d = dirty_pass(c, 10'000, 3'000);  // would halve again, but two were allowed
  EXPECT_TRUE(d.stop_and_copy);
  EXPECT_EQ(c.settle_passes(), 2u);
}

TEST(ConvergenceSettling, AGuestDirtyingFasterThanTheFullPassSentIsNotSettled) {
  MigrationOptions o;
  Convergence c(o);
  // 10 MB sent in 10 ms (1 GB/s), 3,000 pages (12.3 MB) dirty: fits, but grew.
  auto d = c.after_pass(10'000'000, 0.01, 3'000);
  EXPECT_TRUE(d.stop_and_copy);
  EXPECT_FALSE(d.settling);
}

TEST(ConvergenceSettling, OnlyWithRoomLeftUnderTheTimeLimit) {
  MigrationOptions o;
  o.time_limit_ms = 2000;
  Convergence late(o);
  // ~275 ms expected: another pass and the pause need ~550 ms, 1,500 ms are left.
  EXPECT_TRUE(full_pass(late, 500).settling);
  Convergence later(o);
  auto d = full_pass(later, 1500);  // 500 ms left
  EXPECT_FALSE(d.settling);
  EXPECT_TRUE(d.stop_and_copy);
}

TEST(ConvergenceSettling, ARestThatNoLongerFitsGoesBackToNormalPassesAndAutoConverge) {
  MigrationOptions o;
  Convergence c(o);
  ASSERT_TRUE(full_pass(c).settling);
  EXPECT_EQ(c.throttle_percent(), 0u);  // settling never throttles
  // The guest sped up: 29,000 pages sent, 90,000 dirty (370 ms at 1 GB/s).
  auto d = dirty_pass(c, 29'000, 90'000);
  EXPECT_FALSE(d.stop_and_copy);
  EXPECT_FALSE(d.settling);
  EXPECT_EQ(d.throttle_percent, Convergence::kThrottleInitial);
}

// Writes the first 1,024 pages, then a hot set of 256 of them is rewritten before each
// collection: the rest fits after the full pass, one settling pass is tried, and since it does
// not shrink the rest, the next decision stops.
MigrationStatus migrate_hot_set(FakeSource& source, Destination& destination,
                                unsigned max_settle_passes) {
  for (uint64_t p = 0; p < 1024; p++) source.write_page(p, p + 1);
  source.rewrite_on_collect(0, 256);
  destination.start();
  MigrationOptions o = options_to(destination.endpoint());
  o.bandwidth_limit = 64 << 20;  // 256 pages ~ 16 ms: fits, and is above kSettledMs
  o.max_settle_passes = max_settle_passes;
  return migrate(source, o);
}

TEST(ConvergenceSettling, AMigrationTriesOneSettlingPassAndStopsWhenItDoesNotShrink) {
  FakeSource source;
  Destination destination;
  MigrationStatus status = migrate_hot_set(source, destination, 8);
  ASSERT_EQ(status.state, MigrationStatus::State::kCompleted) << status.error;
  ASSERT_EQ(status.passes.size(), 3u);  // full, settling, stop-and-copy
  EXPECT_FALSE(status.passes[0].settling);
  EXPECT_TRUE(status.passes[1].settling);
  EXPECT_EQ(status.passes[1].pages, 256u);
  EXPECT_FALSE(status.passes[2].settling);
  ASSERT_TRUE(destination.wait_result());
  EXPECT_EQ(std::memcmp(source.memory().host_base(), destination.vm.memory().host_base(),
                        source.memory().size()),
            0);
}

TEST(ConvergenceSettling, AMigrationWithoutSettlingStopsAfterTheFullPass) {
  FakeSource source;
  Destination destination;
  MigrationStatus status = migrate_hot_set(source, destination, 0);
  ASSERT_EQ(status.state, MigrationStatus::State::kCompleted) << status.error;
  ASSERT_EQ(status.passes.size(), 2u);
  EXPECT_FALSE(status.passes[1].settling);
  EXPECT_EQ(status.passes[1].pages, 256u);  // the hot set, copied while paused
}

TEST(DowntimePhases, ACompletedMigrationAccountsForItsDowntime) {
  FakeSource source;
  Destination destination;
  MigrationStatus status = migrate_hot_set(source, destination, 0);
  ASSERT_EQ(status.state, MigrationStatus::State::kCompleted) << status.error;
  const MigrationDowntimePhases& p = status.downtime_phases;
  EXPECT_EQ(p.state_bytes, source.state.size());
  EXPECT_GE(p.ram_bytes, 256 * kWire);  // the hot set went while paused
  EXPECT_EQ(p.ram_bytes, status.passes.back().bytes);
  // At 64 MiB/s, 1 MiB takes ~16 ms: the last pass is most of this downtime.
  EXPECT_GT(p.ram_ms, 5.0);
  EXPECT_GT(p.state_loaded_ms, 0.0);
  EXPECT_GT(p.running_ms, 0.0);
  double sum = p.pause_ms + p.collect_ms + p.ram_ms + p.state_save_ms + p.state_send_ms +
               p.state_loaded_ms + p.running_ms;
  EXPECT_LE(sum, status.downtime_ms + 0.01);
  EXPECT_GE(sum, status.downtime_ms * 0.9);  // only bookkeeping between the phases
}

}  // namespace
}  // namespace kagami::test
