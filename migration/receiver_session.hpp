// One incoming migration attempt on an accepted connection: handshake, compatibility, RAM (or
// the memfd), state, acknowledgment, go.
#pragma once

#include <cstdint>
#include <span>

#include "connection.hpp"
#include "frame_stream.hpp"
#include "migration.hpp"
#include "stats.hpp"

namespace kagami {

class IncomingSession {
 public:
  IncomingSession(IncomingVm& vm, Connection& connection, std::span<const uint8_t> key,
                  StatusBoard& status);

  // Returns once the state is loaded and the go received; throws on any failure.
  void run();
  // Whether the VM was changed (pages, memfd): a failure must then discard it.
  bool touched() const { return touched_; }

 private:
  void check_description();
  wire::Header receive_ram();  // until the kState header
  void receive_page();
  void receive_zero_pages();
  void receive_pass_end();
  void receive_memfd();
  void load_state(const wire::Header& header);
  void await_go();
  void refuse(const std::string& reason);

  IncomingVm& vm_;
  Connection& connection_;
  std::span<const uint8_t> key_;
  StatusBoard& status_;
  FrameReader reader_;
  FrameWriter writer_;
  bool local_ = false;
  bool touched_ = false;
  bool memfd_adopted_ = false;
  uint64_t pages_ = 0;
};

}  // namespace kagami
