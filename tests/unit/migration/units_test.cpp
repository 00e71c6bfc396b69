// The pieces of the protocol on their own: endpoints, key files, wire bounds, the
// compatibility message, the convergence policy, the rate limiter.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compat.hpp"
#include "convergence.hpp"
#include "harness.hpp"
#include "rate_limiter.hpp"
#include "wire.hpp"

namespace kagami::test {
namespace {

TEST(Endpoint, ParsesTcpUnixAndIpv6) {
  MigrationEndpoint e = MigrationEndpoint::parse("tcp:10.0.0.2:4444");
  EXPECT_EQ(e.kind, MigrationEndpoint::Kind::kTcp);
  EXPECT_EQ(e.host, "10.0.0.2");
  EXPECT_EQ(e.port, 4444);
  EXPECT_EQ(MigrationEndpoint::parse("tcp:[::1]:5").host, "::1");
  EXPECT_EQ(MigrationEndpoint::parse("tcp:[::1]:5").to_string(), "tcp:[::1]:5");
  EXPECT_EQ(MigrationEndpoint::parse("unix:/run/k.sock").path, "/run/k.sock");
  for (const char* bad :
       {"tcp:host", "tcp::80", "tcp:h:99999", "tcp:h:8x", "unix:", "udp:h:1", "tcp:[::1]5"})
    EXPECT_THROW(MigrationEndpoint::parse(bad), MigrationError) << bad;
  EXPECT_THROW(MigrationEndpoint::parse("unix:/" + std::string(200, 'a')), MigrationError);
}

TEST(KeyFile, OnlyAPrivateFileOfSaneSizeIsAKey) {
  std::string path = "/tmp/kagami-mig-key-" + std::to_string(getpid());
  auto write_key = [&](size_t size, mode_t mode) {
    unlink(path.c_str());
    int fd = open(path.c_str(), O_CREAT | O_WRONLY, 0600);
    std::string bytes(size, 'k');
    EXPECT_EQ(write(fd, bytes.data(), size), static_cast<ssize_t>(size));
    fchmod(fd, mode);
    close(fd);
  };
  write_key(32, 0600);
  EXPECT_EQ(read_migration_key(path).size(), 32u);
  write_key(32, 0640);
  EXPECT_THROW(read_migration_key(path), MigrationError);
  write_key(8, 0600);
  EXPECT_THROW(read_migration_key(path), MigrationError);
  write_key(5000, 0600);
  EXPECT_THROW(read_migration_key(path), MigrationError);
  unlink(path.c_str());
  EXPECT_THROW(read_migration_key(path), MigrationError);
}

TEST(Wire, HeadersOutsideTheirBoundsAreRefused) {
  auto parse = [](uint32_t type, uint32_t length) {
    std::array<uint8_t, 8> raw;
    wire::put_u32(raw.data(), type);
    wire::put_u32(raw.data() + 4, length);
    return wire::parse_header(raw);
  };
  EXPECT_EQ(parse(7, 4104).type, wire::Type::kPage);
  EXPECT_THROW(parse(7, 4103), wire::ProtocolError);
  EXPECT_THROW(parse(0, 0), wire::ProtocolError);
  EXPECT_THROW(parse(16, 0), wire::ProtocolError);
  EXPECT_THROW(parse(11, 0xffffffff), wire::ProtocolError);
  EXPECT_THROW(parse(5, 0), wire::ProtocolError);
  for (uint32_t t = 1; t <= 15; t++) EXPECT_TRUE(wire::bounds_of(t).has_value()) << t;
}

TEST(Compat, NamesEachDifferenceWithBothValues) {
  EXPECT_TRUE(describe_differences(make_description(1 << 30), make_description(1 << 30)).empty());
  auto diffs = describe_differences(make_description(1 << 30, 2, "16550a"),
                                    make_description(1 << 29, 4, "8250"));
  ASSERT_EQ(diffs.size(), 3u);
  EXPECT_EQ(diffs[0], "memory-size: source 1073741824, destination 536870912");
  EXPECT_EQ(diffs[1], "vcpus: source 2, destination 4");
  EXPECT_EQ(diffs[2], "devices/serial@3f8/model: source \"16550a\", destination \"8250\"");
}

TEST(Compat, MissingNodesAndMalformedBlobsAreNamed) {
  std::vector<uint8_t> bare(4096);
  fdt_create(bare.data(), 4096);
  fdt_finish_reservemap(bare.data());
  fdt_begin_node(bare.data(), "");
  fdt_property_string(bare.data(), "kind", "kagami-machine");
  fdt_end_node(bare.data());
  fdt_finish(bare.data());
  bare.resize(fdt_totalsize(bare.data()));
  auto diffs = describe_differences(make_description(1 << 20), bare);
  std::string message = differences_message(diffs);
  EXPECT_NE(message.find("memory-size: source 1048576, destination (missing)"), std::string::npos);
  EXPECT_NE(message.find("devices: missing on the destination"), std::string::npos);

  std::vector<uint8_t> junk = make_description(1 << 20);
  junk[20] ^= 0xff;
  junk.resize(junk.size() - 9);
  diffs = describe_differences(junk, make_description(1 << 20));
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_NE(diffs[0].find("source's machine description is malformed"), std::string::npos);
}

TEST(Convergence, StopsWhenTheRestFitsAndThrottlesInQemuSteps) {
  MigrationOptions o;
  o.downtime_limit_ms = 300;
  o.max_settle_passes = 0;  // stop at the first fit (settling: convergence_test.cpp)
  Convergence c(o);
  // 100 MB/s measured; 1000 dirty pages ~ 41 ms: fits.
  EXPECT_TRUE(c.after_pass(100'000'000, 1.0, 1000).stop_and_copy);
  // 100,000 dirty pages ~ 4.1 s at 100 MB/s, dirtied at 410 MB/s: throttle 20, 30, ... 99.
  unsigned expected[] = {20, 30, 40, 50, 60, 70, 80, 90, 99, 99};
  for (unsigned e : expected) {
    auto d = c.after_pass(100'000'000, 1.0, 100'000);
    EXPECT_FALSE(d.stop_and_copy);
    EXPECT_EQ(d.throttle_percent, e);
  }
  o.auto_converge = false;
  Convergence off(o);
  EXPECT_EQ(off.after_pass(100'000'000, 1.0, 100'000).throttle_percent, 0u);
}

TEST(RateLimiter, HoldsTheAverageRate) {
  std::atomic<bool> cancelled{false};
  RateLimiter limiter(4 << 20, cancelled);  // 4 MiB/s
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; i++) limiter.acquire(256 << 10);  // 2 MiB
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(seconds, 0.3);
  EXPECT_LT(seconds, 0.8);
}

}  // namespace
}  // namespace kagami::test
