// The handshake of both ends: protocol version, authentication (pre-shared-key challenge or,
// on a Unix socket, the peer's uid), and the start of the stream MACs.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "frame_stream.hpp"

namespace kagami {

// Source side. Returns once the destination proved it knows the key too (when it asked for one).
// A destination that asks for no key is refused unless `peer_verified` (TLS checked its
// certificate, or a Unix socket). Throws MigrationError (version, key, unverified peer),
// RefusedError, ConnectionError, wire::ProtocolError.
void sender_handshake(FrameReader& reader, FrameWriter& writer, std::span<const uint8_t> key,
                      bool local, bool peer_verified);

// What the destination learnt of an authenticated sender.
struct SenderHello {
  bool local = false;
};

// Destination side: nothing is read beyond the hello before the sender is authenticated; a
// wrong proof gets a refusal and throws. `key` empty: the connection is a Unix socket whose
// peer uid was checked instead.
SenderHello listener_handshake(Connection& connection, FrameReader& reader, FrameWriter& writer,
                               std::span<const uint8_t> key);

}  // namespace kagami
