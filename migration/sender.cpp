// OutgoingMigration: the migration thread, cancel, and leaving the source as it was on failure.
#include "sender.hpp"

#include <boost/asio/post.hpp>
#include <cstdio>

namespace kagami {

namespace {

void check_options(MigratableVm& vm, const MigrationOptions& options) {
  if (options.local && options.to.kind != MigrationEndpoint::Kind::kUnix)
    throw MigrationError("local migration goes to a unix:PATH endpoint");
  if (options.local && vm.memory().fd() < 0)
    throw MigrationError("guest RAM is not shared memory: start the source with --shared-memory");
  bool tls = options.tls && options.to.kind == MigrationEndpoint::Kind::kTcp;
  if (!options.local && options.key.empty() && !tls)
    throw MigrationError(
        "a migration key or TLS to a tcp: destination is required (only --local goes without)");
  if (options.io_timeout_ms == 0) throw MigrationError("the I/O timeout must not be 0");
}

}  // namespace

OutgoingMigration::Impl::Impl(MigratableVm& vm_, MigrationOptions options_)
    : vm(vm_), options(std::move(options_)), limiter(options.bandwidth_limit, cancelled) {}

void OutgoingMigration::Impl::run() {
  started = std::chrono::steady_clock::now();
  try {
    try {
      migrate();
    } catch (const RefusedError& e) {
      throw MigrationError(std::string("the destination refused: ") + e.what());
    }
  } catch (const std::exception& e) {
    std::string reason = cancelled && !go_sent ? "cancelled" : e.what();
    if (go_confirmed) {
      reason = std::string("after the destination took over: ") + e.what();
    } else if (go_sent) {
      // The destination may run already: resuming could run the guest twice, stopping could
      // lose it. Stay paused and say so (docs/migration.md, "after go").
      reason = "the connection broke after 'go' (" + std::string(e.what()) +
               "): the destination may be running the guest; this source stays paused";
    }
    restore_source();  // never resumes once the go is out
    connection.reset();
    status.update([&](MigrationStatus& s) {
      s.state = cancelled && !go_sent ? MigrationStatus::State::kCancelled
                                      : MigrationStatus::State::kFailed;
      s.error = reason;
      s.throttle_percent = throttle;
      s.total_ms = elapsed_ms(started);
    });
  }
  connection.reset();
  finished = true;
}

void OutgoingMigration::Impl::restore_source() {
  // Each step on its own: one failing must not keep the VM paused.
  auto attempt = [](const char* what, const auto& step) {
    try {
      step();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "kagami: migration: cannot %s: %s\n", what, e.what());
    }
  };
  if (dirty_logging) attempt("stop dirty logging", [&] { vm.stop_dirty_log(); });
  dirty_logging = false;
  if (throttle) attempt("unthrottle the vCPUs", [&] { vm.set_throttle(0); });
  throttle = 0;
  if (paused && !go_sent) attempt("resume the VM", [&] { vm.resume(); });
  paused = false;
}

// From any thread: the close runs on the migration thread, inside its current wait, which
// then fails at once (io.stop() also ends a connect or a resolve in progress).
void OutgoingMigration::Impl::cancel() {
  if (go_sent) return;
  cancelled = true;
  boost::asio::post(io, [this] {
    if (go_sent) return;
    if (connection) connection->close();
    io.stop();
  });
}

OutgoingMigration::OutgoingMigration(MigratableVm& vm, MigrationOptions options) {
  check_options(vm, options);
  impl_ = std::make_unique<Impl>(vm, std::move(options));
}

OutgoingMigration::~OutgoingMigration() {
  if (impl_->thread.joinable()) {
    impl_->cancel();
    impl_->thread.join();
  }
}

void OutgoingMigration::start() {
  if (impl_->thread.joinable() || impl_->finished)
    throw MigrationError("migration already started");
  impl_->status.update([&](MigrationStatus& s) {
    s.state = MigrationStatus::State::kSetup;
    s.peer = impl_->options.to.to_string();
    s.ram_bytes = impl_->vm.memory().size();
  });
  impl_->thread = std::thread([this] { impl_->run(); });
}

void OutgoingMigration::cancel() {
  impl_->cancel();
}

MigrationStatus OutgoingMigration::status() const {
  return impl_->status.get();
}

bool OutgoingMigration::finished() const {
  return impl_->finished;
}

}  // namespace kagami
