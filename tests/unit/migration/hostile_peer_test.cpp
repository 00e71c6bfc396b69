// Destination-side failures from a hostile or broken source: a silent peer, a wrong proof,
// truncated and corrupted streams. Each attempt is dropped, the VM discarded when it had been
// touched, and the listener takes the next migration.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "harness.hpp"

namespace kagami::test {
namespace {

using State = MigrationStatus::State;
using wire::Type;

std::vector<uint8_t> frame(uint32_t type, std::span<const uint8_t> payload, uint32_t length) {
  std::vector<uint8_t> out(8 + payload.size());
  wire::put_u32(out.data(), type);
  wire::put_u32(out.data() + 4, length);
  if (!payload.empty()) std::memcpy(out.data() + 8, payload.data(), payload.size());
  return out;
}

// After the attempt failed: the destination still completes a real migration.
void expect_still_listening(Destination& destination) {
  FakeSource source;
  source.write_page(3, 42);
  MigrationStatus status = migrate(source, options_to(destination.endpoint()));
  EXPECT_EQ(status.state, State::kCompleted) << status.error;
  ASSERT_TRUE(destination.wait_result());
  EXPECT_EQ(destination.result, 1);
}

TEST(HostilePeer, SilentPeerTimesOut) {
  Destination destination;
  destination.start();
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket peer(io);
  peer.connect({boost::asio::ip::address_v4::loopback(), destination.endpoint().port});
  EXPECT_NE(destination.wait_failure().find("timed out"), std::string::npos);
  EXPECT_EQ(destination.vm.discards, 0);
  expect_still_listening(destination);
}

TEST(HostilePeer, WrongProofGetsNothingButARefusal) {
  Destination destination;
  destination.start();
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket peer(io);
  peer.connect({boost::asio::ip::address_v4::loopback(), destination.endpoint().port});
  uint8_t challenge[8 + 40];
  boost::asio::read(peer, boost::asio::buffer(challenge));
  EXPECT_EQ(wire::get_u32(challenge), static_cast<uint32_t>(Type::kChallenge));
  uint8_t hello[72] = {};
  wire::put_u32(hello, wire::kProtocolVersion);
  boost::asio::write(peer, boost::asio::buffer(frame(2, hello, sizeof(hello))));
  uint8_t header[8];
  boost::asio::read(peer, boost::asio::buffer(header));
  EXPECT_EQ(wire::get_u32(header), static_cast<uint32_t>(Type::kRefused));
  EXPECT_NE(destination.wait_failure().find("authentication failed"), std::string::npos);
  EXPECT_EQ(destination.vm.discards, 0);
  expect_still_listening(destination);
}

TEST(HostilePeer, OversizedHelloIsRefusedBeforeReadingIt) {
  Destination destination;
  destination.start();
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket peer(io);
  peer.connect({boost::asio::ip::address_v4::loopback(), destination.endpoint().port});
  boost::asio::write(peer, boost::asio::buffer(frame(2, {}, 0x7fffffff)));
  EXPECT_NE(destination.wait_failure().find("outside its bounds"), std::string::npos);
  expect_still_listening(destination);
}

struct Corruption {
  const char* name;
  std::function<void(ScriptedSource&)> send;
  const char* error;  // in the destination's reason
};

class CorruptedStream : public testing::TestWithParam<Corruption> {};

TEST_P(CorruptedStream, IsDroppedAndDiscarded) {
  Destination destination;
  destination.start();
  {
    ScriptedSource source(destination.endpoint(), make_description(4 << 20));
    // One good page first, so there is something to discard.
    std::vector<uint8_t> page(4096, 0xab);
    source.writer->send_page(1, page.data());
    GetParam().send(source);
    std::string error = destination.wait_failure();
    EXPECT_NE(error.find(GetParam().error), std::string::npos) << error;
  }
  EXPECT_EQ(destination.vm.discards, 1);
  EXPECT_TRUE(destination.vm.state.empty());  // discarded, if it was ever loaded
  expect_still_listening(destination);
}

std::vector<uint8_t> page_frame(uint64_t page) {
  std::vector<uint8_t> payload(8 + 4096);
  wire::put_u64(payload.data(), page);
  return frame(7, payload, static_cast<uint32_t>(payload.size()));
}

INSTANTIATE_TEST_SUITE_P(
    Frames, CorruptedStream,
    testing::Values(Corruption{"BadType", [](ScriptedSource& s) { s.raw(frame(99, {}, 0)); },
                               "unknown message type 99"},
                    Corruption{"OversizeLength",
                               [](ScriptedSource& s) { s.raw(frame(7, {}, 8 + 4096 + 1)); },
                               "outside its bounds"},
                    Corruption{"OversizeState",
                               [](ScriptedSource& s) { s.raw(frame(11, {}, (64u << 20) + 1)); },
                               "outside its bounds"},
                    Corruption{"PageOutOfRange", [](ScriptedSource& s) { s.raw(page_frame(1024)); },
                               "page 1024 is outside guest RAM (1024 pages)"},
                    Corruption{"ZeroRunOutOfRange",
                               [](ScriptedSource& s) {
                                 uint8_t run[16];
                                 wire::put_u64(run, 1000);
                                 wire::put_u64(run + 8, 25);
                                 s.raw(frame(8, run, 16));
                               },
                               "outside guest RAM"},
                    Corruption{"Truncated",
                               [](ScriptedSource& s) {
                                 std::vector<uint8_t> f = page_frame(2);
                                 f.resize(f.size() / 2);
                                 s.raw(f);
                                 s.close();
                               },
                               "connection closed"},
                    Corruption{"AlteredStream",
                               [](ScriptedSource& s) {
                                 // A page the stream MAC did not see, then a state with its MAC.
                                 s.raw(page_frame(5));
                                 uint8_t state[3] = {1, 2, 3};
                                 s.writer->send(Type::kState, state);
                                 s.writer->send_mac();
                                 s.writer->flush();
                               },
                               "message authentication failed"},
                    Corruption{"StateBeforeGoIsNotEnough",
                               [](ScriptedSource& s) {
                                 uint8_t state[3] = {1, 2, 3};
                                 s.writer->send(Type::kState, state);
                                 s.writer->send_mac();
                                 s.writer->flush();
                                 s.reader->expect(Type::kStateLoaded);
                                 s.close();  // no go: the destination must not run
                               },
                               "connection closed"}),
    [](const testing::TestParamInfo<Corruption>& info) { return info.param.name; });

}  // namespace
}  // namespace kagami::test
