// Frames over a Connection: a buffered writer and reader that count bytes, keep the running
// stream MAC of their direction, and (writer) pace output through the bandwidth limit.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "auth.hpp"
#include "connection.hpp"
#include "rate_limiter.hpp"
#include "wire.hpp"

namespace kagami {

// The destination said no (kRefused); what() is its reason.
class RefusedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FrameWriter {
 public:
  explicit FrameWriter(Connection& connection, RateLimiter* limiter = nullptr);

  void start_mac(const auth::Tag& key) { mac_.start(key); }
  void send(wire::Type type, std::span<const uint8_t> payload = {});
  void send_page(uint64_t page, const uint8_t* data);
  // A kMac frame with the tag of everything sent so far (nothing without a key).
  void send_mac();
  // Flushes, then sends one frame with `fd` attached (SCM_RIGHTS).
  void send_with_fd(wire::Type type, std::span<const uint8_t> payload, int fd);
  void flush();
  uint64_t bytes() const { return bytes_; }

 private:
  void append(std::span<const uint8_t> bytes);

  Connection& connection_;
  RateLimiter* limiter_;
  auth::StreamMac mac_;
  std::vector<uint8_t> buffer_;
  uint64_t bytes_ = 0;
};

class FrameReader {
 public:
  explicit FrameReader(Connection& connection);

  void start_mac(const auth::Tag& key) { mac_.start(key); }
  // The next frame's header, checked against the type's bounds (wire::ProtocolError).
  wire::Header next();
  // next(), which must be `type`; a kRefused instead throws RefusedError with its reason.
  wire::Header expect(wire::Type type);
  // With a key: the next frame must be a kMac matching the stream so far.
  void expect_mac();
  // Exactly out.size() bytes of the current payload.
  void read(std::span<uint8_t> out);
  std::vector<uint8_t> payload(const wire::Header& header);
  uint64_t bytes() const { return bytes_; }

 private:
  void read_raw(std::span<uint8_t> out);

  Connection& connection_;
  auth::StreamMac mac_;
  std::vector<uint8_t> buffer_;
  size_t start_ = 0;
  size_t end_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace kagami
