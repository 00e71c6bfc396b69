// IncomingMigration: listen, one attempt at a time, discard and keep listening on failure.
#include <boost/asio/post.hpp>
#include <cstdio>
#include <thread>

#include "listener.hpp"
#include "receiver_session.hpp"
#include "tls.hpp"

namespace kagami {

struct IncomingMigration::Impl {
  Impl(IncomingVm& vm_, const MigrationEndpoint& at, std::vector<uint8_t> key_,
       std::shared_ptr<TlsCredentials> tls_)
      : vm(vm_), key(std::move(key_)), tls(std::move(tls_)), listener(io, at) {}

  bool run();
  bool attempt(Connection& connection);
  void discard(const std::string& peer);

  IncomingVm& vm;
  const std::vector<uint8_t> key;
  const std::shared_ptr<TlsCredentials> tls;  // null, or TCP connections go through TLS
  boost::asio::io_context io;
  Listener listener;
  std::unique_ptr<Connection> connection;  // touched only on run()'s thread
  std::atomic<bool> cancelled{false};
  std::atomic<uint64_t> timeout_ms{30000};
  StatusBoard status;
};

bool IncomingMigration::Impl::run() {
  while (!cancelled) {
    try {
      connection = listener.accept();
    } catch (const ConnectionError& e) {
      std::fprintf(stderr, "kagami: incoming migration: %s\n", e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // EMFILE and the like
      continue;
    }
    if (!connection) break;
    bool done = attempt(*connection);
    connection.reset();
    if (done) {
      listener.close();  // one migration per listener: nobody else may connect now
      return true;
    }
  }
  return false;
}

bool IncomingMigration::Impl::attempt(Connection& conn) {
  auto started = std::chrono::steady_clock::now();
  conn.set_timeout(std::chrono::milliseconds(timeout_ms.load()));
  status.update([&](MigrationStatus& s) {
    s = MigrationStatus{};
    s.state = MigrationStatus::State::kSetup;
    s.peer = conn.peer();
    s.ram_bytes = vm.memory().size();
  });
  IncomingSession session(vm, conn, key, status);
  try {
    if (tls && !conn.is_unix()) conn.start_tls_server(*tls);  // before any byte of ours
    session.run();
    status.update([&](MigrationStatus& s) {
      s.state = MigrationStatus::State::kCompleted;
      s.total_ms = elapsed_ms(started);
    });
    return true;
  } catch (const std::exception& e) {
    std::string reason = cancelled ? "cancelled" : e.what();
    std::fprintf(stderr, "kagami: incoming migration from %s failed: %s\n", conn.peer().c_str(),
                 reason.c_str());
    if (session.touched()) discard(conn.peer());
    status.update([&](MigrationStatus& s) {
      s.state = cancelled ? MigrationStatus::State::kCancelled : MigrationStatus::State::kFailed;
      s.error = reason;
      s.total_ms = elapsed_ms(started);
    });
    return false;
  }
}

void IncomingMigration::Impl::discard(const std::string& peer) {
  try {
    vm.discard();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kagami: incoming migration from %s: cannot discard: %s\n", peer.c_str(),
                 e.what());
  }
}

IncomingMigration::IncomingMigration(IncomingVm& vm, MigrationEndpoint listen,
                                     std::vector<uint8_t> key,
                                     std::shared_ptr<TlsCredentials> tls) {
  if (key.empty() && !tls && listen.kind == MigrationEndpoint::Kind::kTcp)
    throw MigrationError("a TCP migration listener needs a key or TLS credentials");
  impl_ = std::make_unique<Impl>(vm, listen, std::move(key), std::move(tls));
}

IncomingMigration::~IncomingMigration() = default;

bool IncomingMigration::run() {
  return impl_->run();
}

// From any thread: runs on run()'s thread inside its current wait, which then ends.
void IncomingMigration::cancel() {
  impl_->cancelled = true;
  boost::asio::post(impl_->io, [impl = impl_.get()] {
    impl->listener.close();
    if (impl->connection) impl->connection->close();
    impl->io.stop();
  });
}

MigrationStatus IncomingMigration::status() const {
  return impl_->status.get();
}

MigrationEndpoint IncomingMigration::local_endpoint() const {
  return impl_->listener.local_endpoint();
}

void IncomingMigration::set_io_timeout_ms(uint64_t ms) {
  impl_->timeout_ms = ms ? ms : 1;
}

}  // namespace kagami
