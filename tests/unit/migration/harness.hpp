// Test harness: a destination listening on loopback in its own thread, a source migration
// waited for with a deadline, and a scripted source that speaks the protocol by hand.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>

#include "connection.hpp"
#include "fakes.hpp"
#include "frame_stream.hpp"
#include "handshake.hpp"
#include "migration.hpp"

namespace kagami::test {

inline std::vector<uint8_t> test_key(char fill = 'k') {
  return std::vector<uint8_t>(32, static_cast<uint8_t>(fill));
}

// Polls `done` every 2 ms for at most `ms`.
inline bool eventually(const std::function<bool()>& done, int ms = 2000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

class Destination {
 public:
  explicit Destination(uint64_t ram = 4 << 20, std::vector<uint8_t> key = test_key(),
                       const std::string& at = "tcp:127.0.0.1:0")
      : vm(ram), incoming(vm, MigrationEndpoint::parse(at), std::move(key)) {
    incoming.set_io_timeout_ms(400);
  }
  ~Destination() { stop(); }

  void start() {
    thread_ = std::thread([this] { result = incoming.run() ? 1 : 0; });
  }
  // Cancels run() and waits for it; run()'s result.
  int stop() {
    if (thread_.joinable()) {
      incoming.cancel();
      thread_.join();
    }
    return result;
  }
  bool wait_result(int ms = 2000) {
    return eventually([&] { return result != -1; }, ms) && (thread_.join(), true);
  }
  // Waits until an attempt failed; returns its error.
  std::string wait_failure(int ms = 2000) {
    bool failed =
        eventually([&] { return incoming.status().state == MigrationStatus::State::kFailed; }, ms);
    return failed ? incoming.status().error : "(no failure seen)";
  }
  MigrationEndpoint endpoint() const { return incoming.local_endpoint(); }

  FakeDestination vm;
  IncomingMigration incoming;
  std::atomic<int> result{-1};

 private:
  std::thread thread_;
};

inline MigrationOptions options_to(const MigrationEndpoint& to) {
  MigrationOptions o;
  o.to = to;
  o.key = test_key();
  o.io_timeout_ms = 400;
  return o;
}

// Starts a migration and waits (at most `ms`) for it to end; its final status.
inline MigrationStatus migrate(FakeSource& source, const MigrationOptions& options, int ms = 3000) {
  OutgoingMigration migration(source, options);
  migration.start();
  eventually([&] { return migration.finished(); }, ms);
  return migration.status();
}

// Checks what every failed migration must leave behind on the source.
inline void expect_source_intact(FakeSource& source) {
  EXPECT_FALSE(source.paused);
  EXPECT_EQ(source.throttle, 0u);
  EXPECT_FALSE(source.logging());
  EXPECT_EQ(source.migrations, 0);
}

// A source that authenticates and is accepted, then sends what a test wants.
class ScriptedSource {
 public:
  ScriptedSource(const MigrationEndpoint& to, std::vector<uint8_t> description,
                 std::vector<uint8_t> key = test_key()) {
    connection_ = Connection::connect(io_, to, std::chrono::milliseconds(1000));
    connection_->set_timeout(std::chrono::milliseconds(1000));
    reader = std::make_unique<FrameReader>(*connection_);
    writer = std::make_unique<FrameWriter>(*connection_);
    sender_handshake(*reader, *writer, key, false, connection_->is_unix() || connection_->is_tls());
    writer->send(wire::Type::kDescribe, description);
    writer->flush();
    reader->expect(wire::Type::kAccepted);
    reader->expect_mac();
  }
  // Bytes as they are, outside the framing (and the stream MAC).
  void raw(std::span<const uint8_t> bytes) {
    writer->flush();
    connection_->write(bytes);
  }
  void close() { connection_.reset(); }

  std::unique_ptr<FrameReader> reader;
  std::unique_ptr<FrameWriter> writer;

 private:
  boost::asio::io_context io_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace kagami::test
