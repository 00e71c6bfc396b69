// The source end of a migration: OutgoingMigration's thread and its phases.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "connection.hpp"
#include "convergence.hpp"
#include "frame_stream.hpp"
#include "migration.hpp"
#include "rate_limiter.hpp"
#include "stats.hpp"

namespace kagami {

struct OutgoingMigration::Impl {
  Impl(MigratableVm& vm, MigrationOptions options);

  void run();  // the migration thread
  void cancel();

  // The phases (sender_phases.cpp); each throws on failure.
  void migrate();
  void precopy(FrameWriter& writer);
  void local_transfer(FrameWriter& writer);
  void finish(FrameReader& reader, FrameWriter& writer);
  void pause_vm();
  void apply_throttle(unsigned percent);
  void check_time_limit();
  // After a failure: dirty log off, throttle 0, the VM running again if we paused it.
  void restore_source();

  MigratableVm& vm;
  const MigrationOptions options;
  StatusBoard status;
  std::thread thread;
  std::atomic<bool> cancelled{false};
  std::atomic<bool> finished{false};

  boost::asio::io_context io;
  std::unique_ptr<Connection> connection;  // touched only on the migration thread
  std::atomic<bool> go_sent{false};        // past this, a cancel no longer closes anything
  bool go_confirmed = false;               // the destination said it runs
  RateLimiter limiter;

  std::chrono::steady_clock::time_point started;
  std::chrono::steady_clock::time_point paused_at;
  bool paused = false;
  bool dirty_logging = false;
  unsigned throttle = 0;
};

}  // namespace kagami
