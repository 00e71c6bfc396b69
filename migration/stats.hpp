// Migration statistics: the status shared between the migration thread and its readers, and
// the guest RAM checksum that tests compare between source and destination.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>

#include "kagami/guest_memory.hpp"
#include "migration.hpp"

namespace kagami {

class StatusBoard {
 public:
  MigrationStatus get() const {
    std::lock_guard lock(mutex_);
    return status_;
  }
  void update(const std::function<void(MigrationStatus&)>& change) {
    std::lock_guard lock(mutex_);
    change(status_);
  }
  void set_state(MigrationStatus::State state) {
    update([&](MigrationStatus& s) { s.state = state; });
  }

 private:
  mutable std::mutex mutex_;
  MigrationStatus status_;
};

// Milliseconds since `start`.
inline double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// Times consecutive steps: each lap() is the milliseconds since the previous one (or since
// construction).
class LapTimer {
 public:
  double lap() {
    auto now = std::chrono::steady_clock::now();
    double ms = std::chrono::duration<double, std::milli>(now - last_).count();
    last_ = now;
    return ms;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// A fast 64-bit hash of all of guest RAM. Zero words contribute nothing, so memfd holes are
// skipped unread (SEEK_DATA) and a hole hashes as zeros written out.
uint64_t ram_checksum(const GuestMemory& memory);

// With KAGAMI_MIGRATION_CHECKSUM=1: "kagami: migration: guest RAM checksum 0x..." on stderr.
void print_checksum_if_asked(const GuestMemory& memory);

}  // namespace kagami
