// Live migration's public face: where to, with which limits, how it goes. Used by the control
// socket (vmm/api) and the launcher; the protocol itself is in migration/*.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "migratable_vm.hpp"

namespace kagami {

class TlsCredentials;  // tls.hpp

// A migration that cannot start (bad endpoint, key, options); the message is for the user.
class MigrationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "tcp:HOST:PORT" (HOST a name, IPv4, or [IPv6]) or "unix:PATH".
struct MigrationEndpoint {
  enum class Kind { kTcp, kUnix };
  Kind kind = Kind::kTcp;
  std::string host;
  uint16_t port = 0;
  std::string path;

  static MigrationEndpoint parse(const std::string& text);  // throws MigrationError
  std::string to_string() const;
};

// The pre-shared key that authenticates the sender to the listener (HMAC-SHA256 challenge):
// a file of 16 to 4096 bytes that only its owner may read. Throws MigrationError.
std::vector<uint8_t> read_migration_key(const std::string& path);

struct MigrationOptions {
  MigrationEndpoint to;
  uint64_t downtime_limit_ms = 300;  // stop-and-copy once the rest fits this (QEMU, CH: 300)
  uint64_t bandwidth_limit = 0;      // bytes per second; 0: as fast as the link goes
  uint64_t time_limit_ms = 0;        // give up (the source keeps running) after this; 0: never
  bool auto_converge = true;         // throttle vCPUs when the dirty rate outruns the link
  bool local = false;                // unix: only; hand over the memfd, copy no RAM
  std::vector<uint8_t> key;          // empty only for local migration
  uint64_t io_timeout_ms = 30000;    // a destination silent this long is dead (tests: less)
  // Once the rest fits the downtime limit, up to this many more dirty passes, each only while
  // passes keep halving the rest (docs/migration.md, "Convergence"): the limit is a ceiling, the
  // pause is shorter for a few more bytes. 0: stop at the first fit, as QEMU does.
  unsigned max_settle_passes = 8;
  // TLS for a tcp: destination (client certificate, destination's certificate and name
  // checked); null: plaintext. With it the key may be empty; given, it is checked too.
  std::shared_ptr<TlsCredentials> tls;
};

// One pass over RAM: the first sends every page, later ones the pages dirtied meanwhile.
struct MigrationPass {
  unsigned index = 0;
  uint64_t pages = 0;       // pages sent (data or zero marker)
  uint64_t zero_pages = 0;  // of which sent as zero markers
  uint64_t bytes = 0;       // bytes on the wire
  double seconds = 0;
  double dirty_pages_per_second = 0;  // pages found dirty at the end of the pass / its duration
  unsigned throttle_percent = 0;
  // Done after the rest already fitted the downtime limit, to shrink the stop-and-copy
  // (MigrationOptions::max_settle_passes).
  bool settling = false;
};

// Where the downtime went: the stop-and-copy's steps on the source's clock, in milliseconds,
// each filled in as it ends. Their sum is the downtime, less a few microseconds of bookkeeping.
struct MigrationDowntimePhases {
  double pause_ms = 0;         // vCPUs asked out of the guest until all are parked
  double collect_ms = 0;       // the last dirty bitmap read and the pages re-protected
  double ram_ms = 0;           // the last dirty pages read, zero-checked, on the wire (local:
                               // the memfd handed over)
  uint64_t ram_bytes = 0;      // bytes of that last pass
  double state_save_ms = 0;    // save_state(): vCPUs, in-kernel chips, devices
  uint64_t state_bytes = 0;    // the state blob
  double state_send_ms = 0;    // the state written to the connection (the kernel's buffers)
  double state_loaded_ms = 0;  // then until the destination said it loaded it (the rest of the
                               // transfer, its checks and load, the answer back)
  double running_ms = 0;       // go until the destination said it runs (one round trip)
};

struct MigrationStatus {
  enum class State { kNone, kSetup, kActive, kStopAndCopy, kCompleted, kFailed, kCancelled };
  State state = State::kNone;
  std::string peer;
  std::string error;  // why it failed, for kFailed
  std::vector<MigrationPass> passes;
  uint64_t ram_bytes = 0;
  uint64_t total_bytes = 0;      // on the wire, everything
  uint64_t remaining_pages = 0;  // dirty, not yet sent
  double bandwidth = 0;          // bytes per second, measured
  double expected_downtime_ms = 0;
  double downtime_ms = 0;  // measured: vCPUs paused on the source until the destination ran
  double total_ms = 0;
  unsigned throttle_percent = 0;
  MigrationDowntimePhases downtime_phases;  // the source's; zeros on the destination
};

// The state's name, as the control socket and the progress line show it. Inline: the control
// socket's library uses it without linking the protocol.
inline const char* to_string(MigrationStatus::State state) {
  switch (state) {
    case MigrationStatus::State::kNone: return "none";
    case MigrationStatus::State::kSetup: return "setup";
    case MigrationStatus::State::kActive: return "active";
    case MigrationStatus::State::kStopAndCopy: return "stop-and-copy";
    case MigrationStatus::State::kCompleted: return "completed";
    case MigrationStatus::State::kFailed: return "failed";
    case MigrationStatus::State::kCancelled: return "cancelled";
  }
  return "unknown";
}

// One outgoing migration, on its own thread. The source VM keeps running throughout; it stops
// only after the destination confirmed it has everything and runs (then vm.migrated_away()).
// Any failure or cancel leaves the source running as before, dirty logging and throttle off.
class OutgoingMigration {
 public:
  OutgoingMigration(MigratableVm& vm, MigrationOptions options);
  ~OutgoingMigration();  // cancels and joins
  OutgoingMigration(const OutgoingMigration&) = delete;
  OutgoingMigration& operator=(const OutgoingMigration&) = delete;

  void start();
  void cancel();  // thread-safe; returns at once, status() says when it is over
  MigrationStatus status() const;
  bool finished() const;  // completed, failed or cancelled

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The destination's listener. Each connection must authenticate (key) before anything of it is
// read; a connection that fails anywhere (refused handshake, different machine, truncated or
// corrupt stream) is dropped, the VM discarded, and the listener waits for the next.
// A Unix listener (mode 0600) also requires the peer's uid to be ours, and with an empty key
// accepts on that alone (local migration); a TCP listener requires a key or TLS (or both: then
// both are checked). With TLS, a TCP peer must complete the handshake with a certificate from
// our CAs before a byte of the protocol is exchanged. After a completed migration the listener
// is closed.
class IncomingMigration {
 public:
  // `tls` applies to a tcp: listener only (a Unix one checks the peer's uid instead).
  IncomingMigration(IncomingVm& vm, MigrationEndpoint listen, std::vector<uint8_t> key,
                    std::shared_ptr<TlsCredentials> tls = nullptr);
  ~IncomingMigration();
  IncomingMigration(const IncomingMigration&) = delete;
  IncomingMigration& operator=(const IncomingMigration&) = delete;

  // Blocks until a migration has completed (true: the VM's state is loaded and it may run) or
  // cancel() was called (false). Reports each failed attempt on stderr.
  bool run();
  void cancel();  // thread-safe
  MigrationStatus status() const;

  // Where it listens (the bound port when asked for port 0). The listener is bound by the
  // constructor, which throws MigrationError when it cannot be.
  MigrationEndpoint local_endpoint() const;
  // A source silent this long is dead (default 30 s; tests: less).
  void set_io_timeout_ms(uint64_t ms);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kagami
