// Buffered frame I/O with the running stream MAC and the bandwidth limit.
#include "frame_stream.hpp"

#include <algorithm>
#include <cstring>

namespace kagami {

namespace {
constexpr size_t kBufferSize = 256 << 10;  // large writes, few syscalls, a fine-grained limiter
}

FrameWriter::FrameWriter(Connection& connection, RateLimiter* limiter)
    : connection_(connection), limiter_(limiter) {
  buffer_.reserve(kBufferSize + wire::kHeaderSize + 8 + wire::kPageSize);
}

void FrameWriter::append(std::span<const uint8_t> bytes) {
  // Copy first, then MAC the copy: a page of a running guest may change between two reads of it,
  // and the MAC must cover exactly the bytes that go out.
  size_t at = buffer_.size();
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  mac_.update(std::span<const uint8_t>(buffer_).subspan(at));
  bytes_ += bytes.size();
  if (buffer_.size() >= kBufferSize) flush();
}

void FrameWriter::send(wire::Type type, std::span<const uint8_t> payload) {
  append(wire::encode_header(type, static_cast<uint32_t>(payload.size())));
  append(payload);
}

void FrameWriter::send_page(uint64_t page, const uint8_t* data) {
  append(wire::encode_header(wire::Type::kPage, 8 + wire::kPageSize));
  uint8_t number[8];
  wire::put_u64(number, page);
  append(number);
  append({data, wire::kPageSize});
}

void FrameWriter::send_mac() {
  if (!mac_.enabled()) return;
  auth::Tag tag = mac_.tag();
  send(wire::Type::kMac, tag);
}

void FrameWriter::send_with_fd(wire::Type type, std::span<const uint8_t> payload, int fd) {
  flush();
  std::vector<uint8_t> frame(wire::kHeaderSize + payload.size());
  auto header = wire::encode_header(type, static_cast<uint32_t>(payload.size()));
  std::memcpy(frame.data(), header.data(), header.size());
  std::copy(payload.begin(), payload.end(), frame.begin() + wire::kHeaderSize);
  mac_.update(frame);
  bytes_ += frame.size();
  connection_.write(frame, fd);
}

void FrameWriter::flush() {
  if (buffer_.empty()) return;
  if (limiter_) limiter_->acquire(buffer_.size());
  connection_.write(buffer_);
  buffer_.clear();
}

FrameReader::FrameReader(Connection& connection) : connection_(connection), buffer_(kBufferSize) {}

void FrameReader::read_raw(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    if (start_ == end_) {
      start_ = 0;
      end_ = connection_.read_some(buffer_);
    }
    size_t n = std::min(end_ - start_, out.size() - done);
    std::memcpy(out.data() + done, buffer_.data() + start_, n);
    start_ += n;
    done += n;
  }
  bytes_ += out.size();
}

void FrameReader::read(std::span<uint8_t> out) {
  read_raw(out);
  mac_.update(out);
}

wire::Header FrameReader::next() {
  std::array<uint8_t, wire::kHeaderSize> raw;
  read(raw);
  return wire::parse_header(raw);
}

wire::Header FrameReader::expect(wire::Type type) {
  wire::Header header = next();
  if (header.type == type) return header;
  if (header.type == wire::Type::kRefused) {
    std::vector<uint8_t> text = payload(header);
    throw RefusedError(std::string(text.begin(), text.end()));
  }
  throw wire::ProtocolError(std::string("expected '") + wire::name_of(type) + "', got '" +
                            wire::name_of(header.type) + "'");
}

void FrameReader::expect_mac() {
  if (!mac_.enabled()) return;
  auth::Tag expected = mac_.tag();
  expect(wire::Type::kMac);
  auth::Tag tag;
  read(tag);
  if (!auth::equal(tag, expected))
    throw wire::ProtocolError("message authentication failed: the stream was altered");
}

std::vector<uint8_t> FrameReader::payload(const wire::Header& header) {
  std::vector<uint8_t> out(header.length);  // bounded by parse_header
  read(out);
  return out;
}

}  // namespace kagami
