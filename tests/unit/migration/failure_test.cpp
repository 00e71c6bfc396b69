// Source-side failures: cancel, a destination that dies or never answers, a wrong key, a
// different machine. Each leaves the source running as before and the destination listening.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "harness.hpp"

namespace kagami::test {
namespace {

using State = MigrationStatus::State;

// A guest whose RAM is all data, and a link slow enough that the first pass takes seconds.
void fill_ram(FakeSource& source) {
  for (uint64_t p = 0; p < source.pages(); p++) source.write_page(p, p + 1);
}

MigrationOptions slow_link(const MigrationEndpoint& to) {
  MigrationOptions o = options_to(to);
  o.bandwidth_limit = 2 << 20;
  return o;
}

// A migration of 16 MiB of non-zero pages over a 2 MiB/s link, once its first bytes are on the
// wire: about 8 s from done, so a test thread held back by a loaded host still finds it under way.
class SlowMigrationUnderWay {
 public:
  static constexpr uint64_t kRam = 16 << 20;
  SlowMigrationUnderWay() {
    fill_ram(source);
    destination.start();
    migration = std::make_unique<OutgoingMigration>(source, slow_link(destination.endpoint()));
    migration->start();
  }
  bool under_way() {
    return eventually([&] { return migration->status().total_bytes > 0; }) &&
           !migration->finished();
  }

  FakeSource source{kRam};
  Destination destination{kRam};
  std::unique_ptr<OutgoingMigration> migration;
};

TEST(MigrationFailure, CancelMidTransferLeavesTheSourceRunning) {
  SlowMigrationUnderWay m;
  ASSERT_TRUE(m.under_way());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto cancelled_at = std::chrono::steady_clock::now();
  m.migration->cancel();
  ASSERT_TRUE(eventually([&] { return m.migration->finished(); }, 500));
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled_at, std::chrono::milliseconds(400));
  EXPECT_EQ(m.migration->status().state, State::kCancelled);
  EXPECT_EQ(m.migration->status().error, "cancelled");
  expect_source_intact(m.source);

  // The destination discarded what it got and takes the next migration.
  m.destination.wait_failure();
  EXPECT_EQ(m.destination.vm.discards, 1);
  EXPECT_EQ(migrate(m.source, options_to(m.destination.endpoint())).state, State::kCompleted);
  ASSERT_TRUE(m.destination.wait_result());
  EXPECT_EQ(m.destination.result, 1);
  EXPECT_EQ(std::memcmp(m.source.memory().host_base(), m.destination.vm.memory().host_base(),
                        m.source.memory().size()),
            0);
}

TEST(MigrationFailure, DestinationKilledMidTransfer) {
  SlowMigrationUnderWay m;
  ASSERT_TRUE(m.under_way());
  EXPECT_EQ(m.destination.stop(), 0);  // closes its listener and the connection
  EXPECT_EQ(m.destination.vm.discards, 1);
  ASSERT_TRUE(eventually([&] { return m.migration->finished(); }, 1000));
  EXPECT_EQ(m.migration->status().state, State::kFailed);
  EXPECT_FALSE(m.migration->status().error.empty());
  expect_source_intact(m.source);
}

TEST(MigrationFailure, StateRefusedByTheDestinationResumesTheSource) {
  FakeSource source;
  Destination destination;
  destination.vm.refuse_state = true;
  destination.start();
  MigrationStatus status = migrate(source, options_to(destination.endpoint()));
  EXPECT_EQ(status.state, State::kFailed);
  expect_source_intact(source);
  EXPECT_EQ(source.pauses, 1);
  EXPECT_EQ(source.resumes, 1);
  EXPECT_NE(destination.wait_failure().find("serial@3f8/lcr"), std::string::npos);
  EXPECT_EQ(destination.vm.discards, 1);
}

TEST(MigrationFailure, WrongKeyIsRefusedAndChangesNothing) {
  FakeSource source;
  Destination destination;
  destination.start();
  MigrationOptions o = options_to(destination.endpoint());
  o.key = test_key('x');
  MigrationStatus status = migrate(source, o);
  EXPECT_EQ(status.state, State::kFailed);
  EXPECT_NE(status.error.find("authentication failed"), std::string::npos) << status.error;
  expect_source_intact(source);
  EXPECT_EQ(source.dirty_log_starts, 0);
  EXPECT_NE(destination.wait_failure().find("authentication failed"), std::string::npos);
  EXPECT_EQ(destination.vm.discards, 0);  // nothing received, nothing to discard
  EXPECT_EQ(migrate(source, options_to(destination.endpoint())).state, State::kCompleted);
}

TEST(MigrationFailure, DestinationThatNeverAnswersTimesOut) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::address_v4::loopback(), 0});
  FakeSource source;
  MigrationEndpoint to =
      MigrationEndpoint::parse("tcp:127.0.0.1:" + std::to_string(silent.local_endpoint().port()));
  MigrationStatus status = migrate(source, options_to(to));
  EXPECT_EQ(status.state, State::kFailed);
  EXPECT_NE(status.error.find("timed out"), std::string::npos) << status.error;
  expect_source_intact(source);
}

// A destination on plain TCP that sends a challenge with `flags`, answers the hello with a proof
// it cannot compute, and records what the source sends after that.
MigrationStatus migrate_to_impostor(uint32_t flags, std::vector<uint8_t>& after_hello) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor impostor(io, {boost::asio::ip::address_v4::loopback(), 0});
  std::thread peer([&] {
    boost::asio::ip::tcp::socket s(io);
    impostor.accept(s);
    uint8_t challenge[8 + 40] = {};
    wire::put_u32(challenge, static_cast<uint32_t>(wire::Type::kChallenge));
    wire::put_u32(challenge + 4, 40);
    wire::put_u32(challenge + 8, wire::kProtocolVersion);
    wire::put_u32(challenge + 12, flags);
    boost::system::error_code ec;
    boost::asio::write(s, boost::asio::buffer(challenge), ec);
    uint8_t hello[8 + 72];
    boost::asio::read(s, boost::asio::buffer(hello), ec);
    if (ec) return;                // the source refused before its hello
    uint8_t welcome[8 + 32] = {};  // a proof it cannot compute
    wire::put_u32(welcome, static_cast<uint32_t>(wire::Type::kWelcome));
    wire::put_u32(welcome + 4, 32);
    boost::asio::write(s, boost::asio::buffer(welcome), ec);
    uint8_t rest[64];
    size_t n = s.read_some(boost::asio::buffer(rest), ec);  // the source hangs up
    after_hello.assign(rest, rest + n);
  });
  FakeSource source;
  MigrationStatus status =
      migrate(source, options_to(MigrationEndpoint::parse(
                          "tcp:127.0.0.1:" + std::to_string(impostor.local_endpoint().port()))));
  peer.join();
  expect_source_intact(source);
  return status;
}

TEST(MigrationFailure, ImpostorDestinationWithoutTheKeyGetsNoMemory) {
  std::vector<uint8_t> after_hello;
  MigrationStatus status = migrate_to_impostor(wire::kFlagKeyRequired, after_hello);
  EXPECT_EQ(status.state, State::kFailed);
  EXPECT_NE(status.error.find("does not know the migration key"), std::string::npos)
      << status.error;
  EXPECT_TRUE(after_hello.empty());  // not even the machine description
}

// An impostor cannot skip the proof by asking for no key: over plain TCP a keyless destination
// would be unauthenticated, so a source refuses it (TLS or a Unix socket vouch for the peer).
TEST(MigrationFailure, ImpostorDestinationAskingForNoKeyGetsNoMemory) {
  std::vector<uint8_t> after_hello;
  MigrationStatus status = migrate_to_impostor(0, after_hello);
  EXPECT_EQ(status.state, State::kFailed);
  EXPECT_NE(status.error.find("asks for no migration key"), std::string::npos) << status.error;
  EXPECT_TRUE(after_hello.empty());
}

// A destination that authenticates and accepts, then stops reading: the source's writes stall
// and time out.
TEST(MigrationFailure, DestinationThatStopsReadingTimesOut) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor stalled(io, {boost::asio::ip::address_v4::loopback(), 0});
  std::atomic<bool> source_done{false};
  std::thread peer([&] {
    boost::asio::ip::tcp::socket s(io);
    stalled.accept(s);
    Connection connection(io, s.release(), "source", false);
    FrameReader reader(connection);
    FrameWriter writer(connection);
    listener_handshake(connection, reader, writer, test_key());
    reader.payload(reader.expect(wire::Type::kDescribe));
    writer.send(wire::Type::kAccepted);
    writer.send_mac();
    writer.flush();
    eventually([&] { return source_done.load(); }, 3000);
  });
  FakeSource source(16 << 20);
  fill_ram(source);
  MigrationStatus status =
      migrate(source, options_to(MigrationEndpoint::parse(
                          "tcp:127.0.0.1:" + std::to_string(stalled.local_endpoint().port()))));
  source_done = true;
  peer.join();
  EXPECT_EQ(status.state, State::kFailed);
  EXPECT_NE(status.error.find("timed out"), std::string::npos) << status.error;
  expect_source_intact(source);
}

TEST(MigrationFailure, NobodyListening) {
  FakeSource source;
  MigrationStatus status = migrate(source, options_to(MigrationEndpoint::parse("tcp:127.0.0.1:1")));
  EXPECT_EQ(status.state, State::kFailed);
  EXPECT_NE(status.error.find("cannot connect"), std::string::npos) << status.error;
  expect_source_intact(source);
}

TEST(MigrationFailure, DifferentMachineIsRefusedNamingTheDifference) {
  FakeSource source(4 << 20);
  Destination destination(2 << 20);
  destination.start();
  MigrationStatus status = migrate(source, options_to(destination.endpoint()));
  EXPECT_EQ(status.state, State::kFailed);
  EXPECT_NE(status.error.find("memory-size: source 4194304, destination 2097152"),
            std::string::npos)
      << status.error;
  expect_source_intact(source);
  EXPECT_EQ(destination.vm.discards, 0);
  EXPECT_NE(destination.wait_failure().find("memory-size"), std::string::npos);
}

TEST(MigrationFailure, BadOptionsAreRefusedBeforeStarting) {
  FakeSource source;
  MigrationOptions o = options_to(MigrationEndpoint::parse("tcp:127.0.0.1:1"));
  o.key.clear();
  EXPECT_THROW(OutgoingMigration(source, o), MigrationError);
  o.key = test_key();
  o.local = true;
  EXPECT_THROW(OutgoingMigration(source, o), MigrationError);
}

}  // namespace
}  // namespace kagami::test
