// The source's phases: handshake and compatibility, pre-copy passes (or the memfd hand-over),
// stop-and-copy, state, and the go.
#include <cstring>
#include <string>

#include "handshake.hpp"
#include "ram_sender.hpp"
#include "sender.hpp"

namespace kagami {

using State = MigrationStatus::State;
using wire::Type;

void OutgoingMigration::Impl::migrate() {
  connection = Connection::connect(io, options.to, std::chrono::milliseconds(options.io_timeout_ms),
                                   options.tls.get());
  connection->set_timeout(std::chrono::milliseconds(options.io_timeout_ms));
  FrameReader reader(*connection);
  FrameWriter writer(*connection, &limiter);
  sender_handshake(reader, writer, options.key, options.local,
                   connection->is_unix() || connection->is_tls());

  std::vector<uint8_t> description = vm.describe();
  if (description.empty() || description.size() > wire::kMaxDescribe)
    throw MigrationError("the machine description has " + std::to_string(description.size()) +
                         " bytes (1 to " + std::to_string(wire::kMaxDescribe) + " travel)");
  writer.send(Type::kDescribe, description);
  writer.flush();
  reader.expect(Type::kAccepted);  // a kRefused says what differs: RefusedError
  reader.expect_mac();

  status.set_state(State::kActive);
  if (options.local)
    local_transfer(writer);
  else
    precopy(writer);
  finish(reader, writer);
}

void OutgoingMigration::Impl::pause_vm() {
  check_time_limit();
  status.set_state(State::kStopAndCopy);
  paused_at = std::chrono::steady_clock::now();
  vm.pause();
  paused = true;
  double ms = elapsed_ms(paused_at);
  status.update([&](MigrationStatus& s) { s.downtime_phases.pause_ms = ms; });
}

void OutgoingMigration::Impl::apply_throttle(unsigned percent) {
  if (percent == throttle) return;
  vm.set_throttle(percent);
  throttle = percent;
}

void OutgoingMigration::Impl::check_time_limit() {
  if (options.time_limit_ms && elapsed_ms(started) > static_cast<double>(options.time_limit_ms))
    throw MigrationError("did not converge within the time limit of " +
                         std::to_string(options.time_limit_ms) + " ms");
}

namespace {

uint64_t count_pages(const std::vector<uint64_t>& bitmap) {
  uint64_t count = 0;
  for (uint64_t w : bitmap) count += static_cast<uint64_t>(std::popcount(w));
  return count;
}

MigrationPass make_pass(unsigned index, const PassCounters& c, double seconds, uint64_t dirty,
                        unsigned throttle, bool settling) {
  MigrationPass p;
  p.index = index;
  p.pages = c.pages;
  p.zero_pages = c.zero_pages;
  p.bytes = c.bytes;
  p.seconds = seconds;
  p.dirty_pages_per_second = seconds > 0 ? static_cast<double>(dirty) / seconds : 0;
  p.throttle_percent = throttle;
  p.settling = settling;
  return p;
}

}  // namespace

// Full pass, then dirty passes until the rest fits the downtime limit and settling passes no
// longer shrink it; ends paused with every page sent.
void OutgoingMigration::Impl::precopy(FrameWriter& writer) {
  RamSender ram(vm.memory(), writer, [&] {
    check_time_limit();
    status.update([&](MigrationStatus& s) { s.total_bytes = writer.bytes(); });
  });
  Convergence convergence(options);
  std::vector<uint64_t> bitmap((vm.memory().size() / kMigrationPageSize + 63) / 64);
  vm.start_dirty_log();
  dirty_logging = true;

  bool settling = false;  // this pass: the rest fitted already
  for (unsigned pass = 0;; pass++) {
    auto begin = std::chrono::steady_clock::now();
    PassCounters sent = pass == 0 ? ram.send_all(pass) : ram.send_dirty(pass, bitmap);
    double seconds = elapsed_ms(begin) / 1e3;
    std::fill(bitmap.begin(), bitmap.end(), 0);
    vm.collect_dirty(bitmap);
    uint64_t dirty = count_pages(bitmap);
    Convergence::Decision d =
        convergence.after_pass(sent.bytes, seconds, dirty, elapsed_ms(started));
    status.update([&](MigrationStatus& s) {
      s.passes.push_back(make_pass(pass, sent, seconds, dirty, throttle, settling));
      s.total_bytes = writer.bytes();
      s.remaining_pages = dirty;
      s.bandwidth = convergence.bandwidth();
      s.expected_downtime_ms = d.expected_downtime_ms;
      s.throttle_percent = d.throttle_percent;
    });
    if (d.stop_and_copy) break;
    settling = d.settling;
    check_time_limit();
    apply_throttle(d.throttle_percent);
  }

  // Stop and copy: what was dirtied since the last collection, with the vCPUs parked.
  pause_vm();
  LapTimer lap;
  vm.collect_dirty(bitmap);
  double collect_ms = lap.lap();
  unsigned last = static_cast<unsigned>(status.get().passes.size());
  PassCounters sent = ram.send_dirty(last, bitmap);
  double send_ms = lap.lap();
  status.update([&](MigrationStatus& s) {
    s.passes.push_back(make_pass(last, sent, (collect_ms + send_ms) / 1e3, 0, throttle, false));
    s.total_bytes = writer.bytes();
    s.remaining_pages = 0;
    s.downtime_phases.collect_ms = collect_ms;
    s.downtime_phases.ram_ms = send_ms;
    s.downtime_phases.ram_bytes = sent.bytes;
  });
  print_checksum_if_asked(vm.memory());
}

// Local: no RAM copied, the memfd itself goes over the Unix socket.
void OutgoingMigration::Impl::local_transfer(FrameWriter& writer) {
  pause_vm();
  print_checksum_if_asked(vm.memory());
  LapTimer lap;
  uint8_t size[8];
  wire::put_u64(size, vm.memory().size());
  writer.send_with_fd(Type::kMemfd, size, vm.memory().fd());
  double ms = lap.lap();
  status.update([&](MigrationStatus& s) { s.downtime_phases.ram_ms = ms; });
}

// State, the destination's acknowledgment, the go and its confirmation.
void OutgoingMigration::Impl::finish(FrameReader& reader, FrameWriter& writer) {
  LapTimer lap;
  std::vector<uint8_t> state = vm.save_state();
  if (state.empty() || state.size() > wire::kMaxState)
    throw MigrationError("the VM state has " + std::to_string(state.size()) + " bytes (1 to " +
                         std::to_string(wire::kMaxState) + " travel)");
  double save_ms = lap.lap();
  status.update([&](MigrationStatus& s) {
    s.downtime_phases.state_save_ms = save_ms;
    s.downtime_phases.state_bytes = state.size();
  });
  writer.send(Type::kState, state);
  writer.send_mac();
  writer.flush();
  double send_ms = lap.lap();
  reader.expect(Type::kStateLoaded);
  reader.expect_mac();
  double loaded_ms = lap.lap();
  status.update([&](MigrationStatus& s) {
    s.downtime_phases.state_send_ms = send_ms;
    s.downtime_phases.state_loaded_ms = loaded_ms;
  });

  // The commit point: once the go is out, the destination may run, so this source never
  // resumes. (A go that failed to go out was not received whole: the destination discards.)
  writer.send(Type::kGo);
  writer.send_mac();
  writer.flush();
  go_sent = true;
  reader.expect(Type::kRunning);
  reader.expect_mac();
  double downtime = elapsed_ms(paused_at);
  double running_ms = lap.lap();

  go_confirmed = true;
  restore_source();  // dirty log and throttle off; no resume: paused stays false below
  status.update([&](MigrationStatus& s) {
    s.state = State::kCompleted;
    s.total_bytes = writer.bytes();
    s.downtime_ms = downtime;
    s.downtime_phases.running_ms = running_ms;
    s.total_ms = elapsed_ms(started);
    s.throttle_percent = 0;
  });
  vm.migrated_away(options.to.to_string());
}

}  // namespace kagami
