// The destination's side of one migration: every size and page number checked before use.
#include "receiver_session.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include "compat.hpp"
#include "handshake.hpp"
#include "ram_pages.hpp"

namespace kagami {

using State = MigrationStatus::State;
using wire::ProtocolError;
using wire::Type;

IncomingSession::IncomingSession(IncomingVm& vm, Connection& connection,
                                 std::span<const uint8_t> key, StatusBoard& status)
    : vm_(vm),
      connection_(connection),
      key_(key),
      status_(status),
      reader_(connection),
      writer_(connection),
      pages_(page_count(vm.memory())) {}

void IncomingSession::refuse(const std::string& reason) {
  writer_.send(Type::kRefused, {reinterpret_cast<const uint8_t*>(reason.data()),
                                std::min(reason.size(), wire::kMaxRefusal)});
  writer_.flush();
}

void IncomingSession::run() {
  local_ = listener_handshake(connection_, reader_, writer_, key_).local;
  check_description();
  status_.set_state(State::kActive);
  wire::Header state = receive_ram();
  load_state(state);
  await_go();
}

void IncomingSession::check_description() {
  std::vector<uint8_t> source = reader_.payload(reader_.expect(Type::kDescribe));
  std::vector<std::string> differences = describe_differences(source, vm_.describe());
  if (!differences.empty()) {
    std::string message = differences_message(differences);
    refuse(message);
    throw MigrationError("the machines differ: " + message);
  }
  writer_.send(Type::kAccepted);
  writer_.send_mac();
  writer_.flush();
}

wire::Header IncomingSession::receive_ram() {
  for (;;) {
    wire::Header header = reader_.next();
    switch (header.type) {
      case Type::kPage: receive_page(); break;
      case Type::kZeroPages: receive_zero_pages(); break;
      case Type::kPassEnd: receive_pass_end(); break;
      case Type::kMemfd: receive_memfd(); break;
      case Type::kState: return header;
      default:
        throw ProtocolError(std::string("unexpected '") + wire::name_of(header.type) +
                            "' while receiving RAM");
    }
    status_.update([&](MigrationStatus& s) { s.total_bytes = reader_.bytes(); });
  }
}

void IncomingSession::receive_page() {
  if (local_) throw ProtocolError("a page in a local migration");
  uint8_t number[8];
  reader_.read(number);
  uint64_t page = wire::get_u64(number);
  if (page >= pages_)
    throw ProtocolError("page " + std::to_string(page) + " is outside guest RAM (" +
                        std::to_string(pages_) + " pages)");
  touched_ = true;
  reader_.read({page_address(vm_.memory(), page), wire::kPageSize});
}

void IncomingSession::receive_zero_pages() {
  if (local_) throw ProtocolError("zero pages in a local migration");
  uint8_t run[16];
  reader_.read(run);
  uint64_t first = wire::get_u64(run), count = wire::get_u64(run + 8);
  if (count == 0 || first >= pages_ || count > pages_ - first)
    throw ProtocolError("zero pages " + std::to_string(first) + " + " + std::to_string(count) +
                        " are outside guest RAM (" + std::to_string(pages_) + " pages)");
  touched_ = true;
  zero_pages(vm_.memory(), first, count);
}

void IncomingSession::receive_pass_end() {
  uint8_t index[4];
  reader_.read(index);
  reader_.expect_mac();
  status_.update([&](MigrationStatus& s) {
    MigrationPass pass;
    pass.index = wire::get_u32(index);
    s.passes.push_back(pass);
  });
}

void IncomingSession::receive_memfd() {
  if (!local_) throw ProtocolError("a memfd in a migration that copies RAM");
  if (memfd_adopted_) throw ProtocolError("a second memfd");
  uint8_t size_field[8];
  reader_.read(size_field);
  int fd = connection_.take_received_fd();
  if (fd < 0) throw ProtocolError("the memfd message came without a descriptor");
  struct stat st {};
  uint64_t size = wire::get_u64(size_field);
  bool fits = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && size == vm_.memory().size() &&
              static_cast<uint64_t>(st.st_size) == size;
  if (!fits) {
    ::close(fd);
    throw ProtocolError("the source's guest RAM (" + std::to_string(size) +
                        " bytes) does not fit this machine's " +
                        std::to_string(vm_.memory().size()));
  }
  touched_ = true;
  try {
    vm_.adopt_memory(fd);
    memfd_adopted_ = true;
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);  // adopt_memory keeps its own reference
}

void IncomingSession::load_state(const wire::Header& header) {
  if (local_ && !memfd_adopted_) throw ProtocolError("the state came before the memfd");
  std::vector<uint8_t> blob = reader_.payload(header);
  reader_.expect_mac();  // nothing of the state is used before the stream proved intact
  print_checksum_if_asked(vm_.memory());
  touched_ = true;
  vm_.load_state(blob);
  writer_.send(Type::kStateLoaded);
  writer_.send_mac();
  writer_.flush();
}

void IncomingSession::await_go() {
  reader_.expect(Type::kGo);
  reader_.expect_mac();
  // The go is final: the source will not resume. A lost confirmation changes nothing here.
  try {
    writer_.send(Type::kRunning);
    writer_.send_mac();
    writer_.flush();
  } catch (const ConnectionError&) {
  }
}

}  // namespace kagami
