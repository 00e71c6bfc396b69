// Fake source and destination VMs for the migration tests: real GuestMemory of a few MiB, a
// thread that dirties pages at a chosen rate, a describe() built with libfdt.
#pragma once

#include <libfdt.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kagami/state.hpp"
#include "migratable_vm.hpp"

namespace kagami::test {

// A machine description: memory-size, vcpus, and a device node.
inline std::vector<uint8_t> make_description(uint64_t ram, uint32_t vcpus = 1,
                                             const char* serial = "16550a") {
  std::vector<uint8_t> blob(4096);
  void* fdt = blob.data();
  fdt_create(fdt, static_cast<int>(blob.size()));
  fdt_finish_reservemap(fdt);
  fdt_begin_node(fdt, "");
  fdt_property_string(fdt, "kind", "kagami-machine");
  fdt_property_u64(fdt, "memory-size", ram);
  fdt_property_u32(fdt, "vcpus", vcpus);
  fdt_begin_node(fdt, "devices");
  fdt_begin_node(fdt, "serial@3f8");
  fdt_property_string(fdt, "model", serial);
  fdt_end_node(fdt);
  fdt_end_node(fdt);
  fdt_end_node(fdt);
  fdt_finish(fdt);
  blob.resize(fdt_totalsize(fdt));
  return blob;
}

class FakeSource final : public MigratableVm {
 public:
  explicit FakeSource(uint64_t ram = 4 << 20,
                      GuestMemory::Backing backing = GuestMemory::Backing::kAnonymous)
      : memory_(ram, backing), description_(make_description(ram)), dirty_(pages() / 64 + 1) {}
  ~FakeSource() override { stop_dirtying(); }

  std::vector<uint8_t> describe() const override { return description_; }
  GuestMemory& memory() override { return memory_; }

  void start_dirty_log() override {
    std::lock_guard lock(mutex_);
    logging_ = true;
    std::fill(dirty_.begin(), dirty_.end(), 0);
    dirty_log_starts++;
  }
  void collect_dirty(std::vector<uint64_t>& bitmap) override {
    std::lock_guard lock(mutex_);
    if (hot_count_ && !paused) {
      // As if the guest had rewritten its hot set since the last collection, less what the
      // throttle kept it from: deterministic, whatever the scheduling of the test.
      uint64_t written = hot_count_ * (100 - throttle) / 100;
      for (uint64_t i = 0; i < written; i++) write_locked(hot_first_ + i, ++hot_value_);
    }
    for (size_t i = 0; i < bitmap.size() && i < dirty_.size(); i++) bitmap[i] |= dirty_[i];
    std::fill(dirty_.begin(), dirty_.end(), 0);
  }
  void stop_dirty_log() override {
    std::lock_guard lock(mutex_);
    logging_ = false;
    dirty_log_stops++;
  }
  void set_throttle(unsigned percent) override {
    throttle = percent;
    max_throttle = std::max(max_throttle.load(), percent);
  }
  void pause() override {
    std::lock_guard lock(mutex_);
    paused = true;
    pauses++;
  }
  void resume() override {
    std::lock_guard lock(mutex_);
    paused = false;
    resumes++;
  }
  std::vector<uint8_t> save_state() override {
    if (!paused) throw std::logic_error("save_state while running");
    return state;
  }
  void migrated_away(const std::string& destination) override {
    migrated_to = destination;
    migrations++;
  }

  uint64_t pages() const { return memory_.size() / 4096; }
  bool logging() {
    std::lock_guard lock(mutex_);
    return logging_;
  }

  // Writes `value` at the start of `page` (as a guest would), marking it dirty.
  void write_page(uint64_t page, uint64_t value) {
    std::lock_guard lock(mutex_);
    write_locked(page, value);
  }

  // A thread writing `pages_per_second` pages (scaled by 100 - throttle) round-robin over
  // [first, first + count), until paused or stopped.
  void start_dirtying(double pages_per_second, uint64_t first, uint64_t count) {
    running_ = true;
    dirtier_ = std::thread([=, this] {
      double owed = 0;
      uint64_t next = 0, value = 1;
      auto tick = std::chrono::steady_clock::now();
      while (running_) {
        tick += std::chrono::milliseconds(1);
        std::this_thread::sleep_until(tick);
        owed += pages_per_second / 1000 * (100 - throttle) / 100;
        std::lock_guard lock(mutex_);
        if (paused) continue;
        for (; owed >= 1; owed--) write_locked(first + next++ % count, value++);
      }
    });
  }
  // Each collect_dirty() finds [first, first + count) rewritten (scaled by 100 - throttle).
  void rewrite_on_collect(uint64_t first, uint64_t count) {
    std::lock_guard lock(mutex_);
    hot_first_ = first;
    hot_count_ = count;
  }
  void stop_dirtying() {
    running_ = false;
    if (dirtier_.joinable()) dirtier_.join();
  }

  std::vector<uint8_t> state{1, 2, 3, 4, 5};
  std::atomic<unsigned> throttle{0}, max_throttle{0};
  std::atomic<int> dirty_log_starts{0}, dirty_log_stops{0}, pauses{0}, resumes{0};
  std::atomic<int> migrations{0};
  std::atomic<bool> paused{false};
  std::string migrated_to;

 private:
  void write_locked(uint64_t page, uint64_t value) {
    std::memcpy(memory_.host_base() + page * 4096 + (value % 512) * 8, &value, 8);
    if (logging_) dirty_[page / 64] |= 1ull << (page % 64);
  }

  GuestMemory memory_;
  std::vector<uint8_t> description_;
  std::mutex mutex_;
  bool logging_ = false;
  std::vector<uint64_t> dirty_;
  uint64_t hot_first_ = 0, hot_count_ = 0, hot_value_ = 1000;
  std::atomic<bool> running_{false};
  std::thread dirtier_;
};

class FakeDestination final : public IncomingVm {
 public:
  explicit FakeDestination(uint64_t ram = 4 << 20)
      : memory_(ram, GuestMemory::Backing::kAnonymous), description_(make_description(ram)) {}
  ~FakeDestination() override { release_adopted(); }

  std::vector<uint8_t> describe() const override { return description_; }
  GuestMemory& memory() override { return memory_; }

  void adopt_memory(int memfd) override {
    adopted_fd = dup(memfd);
    void* p = mmap(nullptr, memory_.size(), PROT_READ, MAP_SHARED, adopted_fd, 0);
    adopted = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
  }
  void load_state(std::span<const uint8_t> blob) override {
    if (refuse_state) throw StateError("serial@3f8/lcr: 8 bytes, expected 4");
    state.assign(blob.begin(), blob.end());
    loads++;
  }
  void discard() override {
    std::memset(memory_.host_base(), 0, memory_.size());
    state.clear();
    release_adopted();
    discards++;
  }

  std::vector<uint8_t> description_override;
  std::vector<uint8_t> state;
  bool refuse_state = false;
  std::atomic<int> loads{0}, discards{0};
  int adopted_fd = -1;
  uint8_t* adopted = nullptr;

  void set_description(std::vector<uint8_t> d) { description_ = std::move(d); }

 private:
  void release_adopted() {
    if (adopted) munmap(adopted, memory_.size());
    if (adopted_fd >= 0) close(adopted_fd);
    adopted = nullptr;
    adopted_fd = -1;
  }

  GuestMemory memory_;
  std::vector<uint8_t> description_;
};

}  // namespace kagami::test
