// Authentication with the pre-shared key: challenge proofs, per-direction stream keys and the
// running HMAC that protects the stream after the handshake (OpenSSL libcrypto).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace kagami::auth {

using Nonce = std::array<uint8_t, 32>;
using Tag = std::array<uint8_t, 32>;

// 32 random bytes from the OpenSSL CSPRNG; throws std::runtime_error when it has no entropy.
Nonce random_nonce();

// HMAC-SHA256 of the concatenation of `parts`.
Tag hmac(std::span<const uint8_t> key, std::initializer_list<std::span<const uint8_t>> parts);

// The proofs of the handshake: each covers a direction label, the protocol version, the
// listener's challenge and the sender's nonce, so a proof is good for one direction of one
// session only (no reflection, no replay).
Tag sender_proof(std::span<const uint8_t> key, uint32_t version, const Nonce& challenge,
                 const Nonce& nonce);
Tag listener_proof(std::span<const uint8_t> key, uint32_t version, const Nonce& challenge,
                   const Nonce& nonce);

enum class Direction { kToDestination, kToSource };
// The key of the running stream MAC in one direction, derived from the same session values.
Tag stream_key(std::span<const uint8_t> key, Direction direction, const Nonce& challenge,
               const Nonce& nonce);

// Constant-time comparison (CRYPTO_memcmp).
bool equal(const Tag& a, const Tag& b);

// HMAC-SHA256 over everything sent in one direction; tag() is the MAC of the bytes so far, and
// the stream goes on after it. Disabled (no key) for local migration.
class StreamMac {
 public:
  StreamMac();
  ~StreamMac();
  StreamMac(const StreamMac&) = delete;
  StreamMac& operator=(const StreamMac&) = delete;

  void start(const Tag& key);
  bool enabled() const { return ctx_ != nullptr; }
  void update(std::span<const uint8_t> bytes);
  Tag tag() const;

 private:
  struct Ctx;
  Ctx* ctx_ = nullptr;
};

}  // namespace kagami::auth
