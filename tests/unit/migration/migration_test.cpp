// Complete migrations over loopback TCP: RAM and state arrive, zero pages travel as markers,
// and auto-converge finishes what would otherwise never converge.
#include <gtest/gtest.h>

#include <cstdlib>

#include "harness.hpp"

namespace kagami::test {
namespace {

TEST(Migration, CompleteMigrationMovesRamAndStateWhileTheGuestWrites) {
  FakeSource source;
  for (uint64_t p = 0; p < source.pages(); p += 3) source.write_page(p, p * 7 + 1);
  Destination destination;
  destination.start();
  source.start_dirtying(2000, 100, 200);

  MigrationStatus status = migrate(source, options_to(destination.endpoint()));
  ASSERT_EQ(status.state, MigrationStatus::State::kCompleted) << status.error;
  ASSERT_TRUE(destination.wait_result());
  EXPECT_EQ(destination.result, 1);
  source.stop_dirtying();

  EXPECT_EQ(std::memcmp(source.memory().host_base(), destination.vm.memory().host_base(),
                        source.memory().size()),
            0);
  EXPECT_EQ(destination.vm.state, source.state);
  EXPECT_EQ(source.migrations, 1);
  EXPECT_EQ(source.migrated_to, destination.endpoint().to_string());
  EXPECT_EQ(source.dirty_log_stops, 1);
  EXPECT_EQ(source.throttle, 0u);
  EXPECT_EQ(destination.vm.discards, 0);
  EXPECT_GE(status.passes.size(), 2u);  // the full pass and the stop-and-copy
  EXPECT_EQ(status.passes[0].pages, source.pages());
  EXPECT_GT(status.downtime_ms, 0);
  EXPECT_GE(status.total_ms, status.downtime_ms);
}

TEST(Migration, ChecksumsPrintedOnBothEndsMatch) {
  setenv("KAGAMI_MIGRATION_CHECKSUM", "1", 1);
  FakeSource source;
  for (uint64_t p = 0; p < source.pages(); p += 5) source.write_page(p, p + 11);
  Destination destination;
  destination.start();
  testing::internal::CaptureStderr();
  MigrationStatus status = migrate(source, options_to(destination.endpoint()));
  destination.wait_result();
  std::string err = testing::internal::GetCapturedStderr();
  unsetenv("KAGAMI_MIGRATION_CHECKSUM");
  ASSERT_EQ(status.state, MigrationStatus::State::kCompleted) << status.error;
  const std::string line = "kagami: migration: guest RAM checksum 0x";
  size_t first = err.find(line), second = err.find(line, first + 1);
  ASSERT_NE(second, std::string::npos) << err;
  EXPECT_EQ(err.substr(first, line.size() + 16), err.substr(second, line.size() + 16));
}

TEST(Migration, ZeroPagesTravelAsMarkers) {
  FakeSource source(8 << 20);
  for (uint64_t p = 0; p < 16; p++) source.write_page(p * 97, p + 1);
  Destination destination(8 << 20);
  destination.start();
  MigrationStatus status = migrate(source, options_to(destination.endpoint()));
  ASSERT_EQ(status.state, MigrationStatus::State::kCompleted) << status.error;
  EXPECT_EQ(status.passes[0].zero_pages, source.pages() - 16);
  // 16 pages of data, the rest a few markers, handshake, description and state.
  EXPECT_LT(status.total_bytes, 16 * 4112 + 4096u);
}

MigrationOptions hot_guest_options(const MigrationEndpoint& to, bool auto_converge) {
  MigrationOptions o = options_to(to);
  o.bandwidth_limit = 64 << 20;  // ~16,000 pages/s
  o.downtime_limit_ms = 5;       // ~80 pages
  o.auto_converge = auto_converge;
  o.time_limit_ms = auto_converge ? 1500 : 500;
  return o;
}

TEST(Migration, DirtyRateAboveTheBandwidthConvergesWithAutoConverge) {
  FakeSource source;
  Destination destination;
  destination.start();
  source.rewrite_on_collect(0, 512);  // 2 MiB rewritten per pass: never fits 5 ms
  MigrationStatus status = migrate(source, hot_guest_options(destination.endpoint(), true));
  ASSERT_EQ(status.state, MigrationStatus::State::kCompleted) << status.error;
  EXPECT_GE(source.max_throttle, 80u);  // 512 pages fit 5 ms only at 85% or more
  EXPECT_EQ(source.throttle, 0u);
  EXPECT_EQ(std::memcmp(source.memory().host_base(), destination.vm.memory().host_base(),
                        source.memory().size()),
            0);
  unsigned raised = 0;
  for (const MigrationPass& p : status.passes) raised = std::max(raised, p.throttle_percent);
  EXPECT_GE(raised, 20u);
}

TEST(Migration, WithoutAutoConvergeTheTimeLimitGivesUp) {
  FakeSource source;
  Destination destination;
  destination.start();
  source.rewrite_on_collect(0, 512);
  MigrationStatus status = migrate(source, hot_guest_options(destination.endpoint(), false));
  EXPECT_EQ(status.state, MigrationStatus::State::kFailed);
  EXPECT_NE(status.error.find("time limit of 500 ms"), std::string::npos) << status.error;
  EXPECT_EQ(source.max_throttle, 0u);
  expect_source_intact(source);
  EXPECT_EQ(source.pauses, 0);
  // The destination saw the connection drop, discarded, and listens on.
  destination.wait_failure();
  EXPECT_EQ(destination.vm.discards, 1);
  EXPECT_EQ(destination.stop(), 0);
}

}  // namespace
}  // namespace kagami::test
