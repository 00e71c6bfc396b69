// HMAC-SHA256 with OpenSSL's EVP_MAC: handshake proofs, stream keys, the running stream MAC.
#include "auth.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <string_view>

namespace kagami::auth {
namespace {

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

EVP_MAC_CTX* new_hmac(std::span<const uint8_t> key) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!mac) throw std::runtime_error("OpenSSL has no HMAC");
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (!ctx || !EVP_MAC_init(ctx, key.data(), key.size(), params)) {
    EVP_MAC_CTX_free(ctx);
    throw std::runtime_error("OpenSSL cannot start HMAC-SHA256");
  }
  return ctx;
}

Tag finish(EVP_MAC_CTX* ctx) {
  Tag out{};
  size_t length = 0;
  bool ok = EVP_MAC_final(ctx, out.data(), &length, out.size()) && length == out.size();
  EVP_MAC_CTX_free(ctx);
  if (!ok) throw std::runtime_error("OpenSSL HMAC-SHA256 failed");
  return out;
}

std::array<uint8_t, 4> le32(uint32_t v) {
  return {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
}

Tag proof(std::string_view label, std::span<const uint8_t> key, uint32_t version,
          const Nonce& challenge, const Nonce& nonce) {
  auto v = le32(version);
  return hmac(key, {bytes_of(label), v, challenge, nonce});
}

}  // namespace

struct StreamMac::Ctx {
  EVP_MAC_CTX* mac;
};

Nonce random_nonce() {
  Nonce n;
  if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1)
    throw std::runtime_error("no random bytes for the migration challenge (RAND_bytes)");
  return n;
}

Tag hmac(std::span<const uint8_t> key, std::initializer_list<std::span<const uint8_t>> parts) {
  EVP_MAC_CTX* ctx = new_hmac(key);
  for (auto part : parts) EVP_MAC_update(ctx, part.data(), part.size());
  return finish(ctx);
}

Tag sender_proof(std::span<const uint8_t> key, uint32_t version, const Nonce& challenge,
                 const Nonce& nonce) {
  return proof("kagami-migration sender proof", key, version, challenge, nonce);
}

Tag listener_proof(std::span<const uint8_t> key, uint32_t version, const Nonce& challenge,
                   const Nonce& nonce) {
  return proof("kagami-migration listener proof", key, version, challenge, nonce);
}

Tag stream_key(std::span<const uint8_t> key, Direction direction, const Nonce& challenge,
               const Nonce& nonce) {
  std::string_view label = direction == Direction::kToDestination
                               ? "kagami-migration stream to destination"
                               : "kagami-migration stream to source";
  return hmac(key, {bytes_of(label), challenge, nonce});
}

bool equal(const Tag& a, const Tag& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

StreamMac::StreamMac() = default;

StreamMac::~StreamMac() {
  if (ctx_) EVP_MAC_CTX_free(ctx_->mac);
  delete ctx_;
}

void StreamMac::start(const Tag& key) {
  if (ctx_) EVP_MAC_CTX_free(ctx_->mac);
  delete ctx_;
  ctx_ = nullptr;
  ctx_ = new Ctx{new_hmac(key)};
}

void StreamMac::update(std::span<const uint8_t> bytes) {
  if (ctx_ && !bytes.empty()) EVP_MAC_update(ctx_->mac, bytes.data(), bytes.size());
}

// The MAC so far, from a copy, so the running one goes on.
Tag StreamMac::tag() const {
  if (!ctx_) return Tag{};
  EVP_MAC_CTX* copy = EVP_MAC_CTX_dup(ctx_->mac);
  if (!copy) throw std::runtime_error("OpenSSL cannot copy an HMAC context");
  return finish(copy);
}

}  // namespace kagami::auth
