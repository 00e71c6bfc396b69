// The handshake: challenge, hello with proof, welcome with the listener's proof (mutual).
#include "handshake.hpp"

#include <unistd.h>

#include <cstring>

namespace kagami {
namespace {

using wire::Type;

void refuse(FrameWriter& writer, const std::string& reason) {
  writer.send(Type::kRefused, {reinterpret_cast<const uint8_t*>(reason.data()),
                               std::min(reason.size(), wire::kMaxRefusal)});
  writer.flush();
}

void start_macs(FrameReader& reader, FrameWriter& writer, std::span<const uint8_t> key,
                const auth::Nonce& challenge, const auth::Nonce& nonce, bool source) {
  using auth::Direction;
  auth::Tag to_destination = auth::stream_key(key, Direction::kToDestination, challenge, nonce);
  auth::Tag to_source = auth::stream_key(key, Direction::kToSource, challenge, nonce);
  writer.start_mac(source ? to_destination : to_source);
  reader.start_mac(source ? to_source : to_destination);
}

}  // namespace

void sender_handshake(FrameReader& reader, FrameWriter& writer, std::span<const uint8_t> key,
                      bool local, bool peer_verified) {
  reader.expect(Type::kChallenge);
  uint8_t challenge_frame[8 + wire::kNonceSize];
  reader.read(challenge_frame);
  uint32_t version = wire::get_u32(challenge_frame);
  bool keyed = wire::get_u32(challenge_frame + 4) & wire::kFlagKeyRequired;
  if (version != wire::kProtocolVersion)
    throw MigrationError("the destination speaks migration protocol version " +
                         std::to_string(version) + ", this source " +
                         std::to_string(wire::kProtocolVersion));
  if (keyed && key.empty())
    throw MigrationError("the destination requires the migration key, and none was given");
  // Without the key's proof, only TLS or a Unix socket says who the destination is.
  if (!keyed && !peer_verified)
    throw MigrationError(
        "the destination asks for no migration key, and over plain TCP nothing else proves who "
        "it is: refusing to send it the guest (give it --migration-key, or use TLS)");
  auth::Nonce challenge, nonce = auth::random_nonce();
  std::memcpy(challenge.data(), challenge_frame + 8, challenge.size());

  uint8_t hello[8 + wire::kNonceSize + wire::kTagSize] = {};
  wire::put_u32(hello, wire::kProtocolVersion);
  wire::put_u32(hello + 4, local ? wire::kFlagLocal : 0);
  std::memcpy(hello + 8, nonce.data(), nonce.size());
  if (keyed) {
    auth::Tag proof = auth::sender_proof(key, version, challenge, nonce);
    std::memcpy(hello + 8 + nonce.size(), proof.data(), proof.size());
  }
  writer.send(Type::kHello, hello);
  writer.flush();

  reader.expect(Type::kWelcome);
  auth::Tag their_proof;
  reader.read(their_proof);
  if (!keyed) return;
  if (!auth::equal(their_proof, auth::listener_proof(key, version, challenge, nonce)))
    throw MigrationError("the destination does not know the migration key (its proof is wrong)");
  start_macs(reader, writer, key, challenge, nonce, true);
}

SenderHello listener_handshake(Connection& connection, FrameReader& reader, FrameWriter& writer,
                               std::span<const uint8_t> key) {
  if (connection.is_unix() && connection.peer_uid() != geteuid())
    throw MigrationError("peer uid " + std::to_string(connection.peer_uid()) +
                         " is not this process's uid " + std::to_string(geteuid()));
  bool keyed = !key.empty();
  auth::Nonce challenge = auth::random_nonce();
  uint8_t challenge_frame[8 + wire::kNonceSize];
  wire::put_u32(challenge_frame, wire::kProtocolVersion);
  wire::put_u32(challenge_frame + 4, keyed ? wire::kFlagKeyRequired : 0);
  std::memcpy(challenge_frame + 8, challenge.data(), challenge.size());
  writer.send(Type::kChallenge, challenge_frame);
  writer.flush();

  // A fixed-size frame: nothing else is read before the proof is checked.
  reader.expect(Type::kHello);
  uint8_t hello[8 + wire::kNonceSize + wire::kTagSize];
  reader.read(hello);
  uint32_t version = wire::get_u32(hello);
  SenderHello result{(wire::get_u32(hello + 4) & wire::kFlagLocal) != 0};
  auth::Nonce nonce;
  auth::Tag proof;
  std::memcpy(nonce.data(), hello + 8, nonce.size());
  std::memcpy(proof.data(), hello + 8 + nonce.size(), proof.size());
  if (version != wire::kProtocolVersion) {
    refuse(writer, "this destination speaks migration protocol version " +
                       std::to_string(wire::kProtocolVersion));
    throw MigrationError("the source speaks migration protocol version " + std::to_string(version));
  }
  if (keyed && !auth::equal(proof, auth::sender_proof(key, version, challenge, nonce))) {
    refuse(writer, "authentication failed");
    throw MigrationError("authentication failed (wrong key)");
  }
  if (result.local && !connection.is_unix()) {
    refuse(writer, "local migration needs a Unix socket");
    throw MigrationError("local migration asked over TCP");
  }
  auth::Tag our_proof{};
  if (keyed) our_proof = auth::listener_proof(key, version, challenge, nonce);
  writer.send(Type::kWelcome, our_proof);
  writer.flush();
  if (keyed) start_macs(reader, writer, key, challenge, nonce, false);
  return result;
}

}  // namespace kagami
