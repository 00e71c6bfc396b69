// Bus: range checks, lookup at the edges, width splitting and widening, unassigned accesses.
#include "kagami/bus.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bus_access.hpp"

namespace kagami {
namespace {

using testing::bus_read;
using testing::bus_write;

constexpr uint64_t kTop = std::numeric_limits<uint64_t>::max();

// Backed by memory and logs every access it receives, so tests see how the bus cut them up.
class RecordingDevice : public BusDevice {
 public:
  struct Access {
    bool write;
    uint64_t offset;
    size_t width;
    bool operator==(const Access&) const = default;
  };

  explicit RecordingDevice(size_t size = 64) : memory(size) {
    for (size_t i = 0; i < size; ++i) memory[i] = static_cast<uint8_t>(0xa0 + i);
  }
  void read(uint64_t offset, std::span<uint8_t> data) override {
    std::lock_guard lock(mutex);
    log.push_back({false, offset, data.size()});
    for (size_t i = 0; i < data.size(); ++i) data[i] = memory[offset + i];
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    std::lock_guard lock(mutex);
    log.push_back({true, offset, data.size()});
    for (size_t i = 0; i < data.size(); ++i) memory[offset + i] = data[i];
  }

  std::mutex mutex;
  std::vector<uint8_t> memory;
  std::vector<Access> log;
};

std::string add_error(Bus& bus, uint64_t base, uint64_t size, BusDevice& device,
                      unsigned widths = kAnyWidth, std::string name = "new") {
  try {
    bus.add(base, size, device, widths, std::move(name));
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "";
}

std::string remove_error(Bus& bus, uint64_t base, BusDevice& device) {
  try {
    bus.remove(base, device);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "";
}

TEST(Bus, RefusesOverlapsNamingBothRanges) {
  Bus bus("io");
  RecordingDevice a, b;
  bus.add(0x100, 0x10, a, kAnyWidth, "first");
  EXPECT_EQ(add_error(bus, 0x108, 0x10, b),
            "io bus: new [0x108, 0x117] overlaps first [0x100, 0x10f]");
  EXPECT_EQ(add_error(bus, 0xf8, 0x9, b),
            "io bus: new [0xf8, 0x100] overlaps first [0x100, 0x10f]");
  EXPECT_EQ(add_error(bus, 0x104, 0x2, b),
            "io bus: new [0x104, 0x105] overlaps first [0x100, 0x10f]");
  EXPECT_EQ(add_error(bus, 0x0, 0x1000, b),
            "io bus: new [0x0, 0xfff] overlaps first [0x100, 0x10f]");
  EXPECT_EQ(add_error(bus, 0x10f, 1, b),
            "io bus: new [0x10f, 0x10f] overlaps first [0x100, 0x10f]");
}

TEST(Bus, AllowsAdjacentRangesAndTheSameDeviceTwice) {
  Bus bus("io");
  RecordingDevice a;
  bus.add(0x100, 0x10, a);
  EXPECT_EQ(add_error(bus, 0x110, 0x10, a), "");
  EXPECT_EQ(add_error(bus, 0xf0, 0x10, a), "");
  EXPECT_EQ(add_error(bus, 0x120, 1, a), "");
  EXPECT_TRUE(bus.write(0xff, std::vector<uint8_t>{1}));
  EXPECT_TRUE(bus.write(0x100, std::vector<uint8_t>{2}));
  EXPECT_TRUE(bus.write(0x120, std::vector<uint8_t>{3}));
  EXPECT_EQ(a.log,
            (std::vector<RecordingDevice::Access>{{true, 0xf, 1}, {true, 0, 1}, {true, 0, 1}}));
}

TEST(Bus, RefusesZeroSizeWrapsAndBadWidths) {
  Bus bus("mmio");
  RecordingDevice a;
  EXPECT_EQ(add_error(bus, 0x1000, 0, a), "mmio bus: cannot add new at 0x1000: size is 0");
  EXPECT_EQ(add_error(bus, kTop - 0xf, 0x20, a),
            "mmio bus: cannot add new at 0xfffffffffffffff0 size 0x20: range wraps past the end "
            "of the address space");
  EXPECT_EQ(add_error(bus, 0x1000, 0x10, a, 0),
            "mmio bus: cannot add new [0x1000, 0x100f]: access widths mask 0x0 is invalid");
  EXPECT_EQ(add_error(bus, 0x1000, 0x10, a, 0x10),
            "mmio bus: cannot add new [0x1000, 0x100f]: access widths mask 0x10 is invalid");
  EXPECT_EQ(add_error(bus, 0x1000, 0x10, a, kAnyWidth, ""),
            "");  // unnamed ranges are fine; their errors say "unnamed range"
  EXPECT_EQ(add_error(bus, 0x1008, 0x10, a, kAnyWidth, ""),
            "mmio bus: unnamed range [0x1008, 0x1017] overlaps unnamed range [0x1000, 0x100f]");
}

TEST(Bus, RangeMayEndAtTheTopOfTheAddressSpace) {
  Bus bus("mmio");
  RecordingDevice a(16);
  bus.add(kTop - 0xf, 0x10, a, kAnyWidth, "top");
  EXPECT_EQ(bus_read(bus, kTop, 1), 0xafu);
  EXPECT_EQ(bus_read(bus, kTop - 7, 8), 0xafaeadacabaaa9a8u);
  uint8_t data[4];
  EXPECT_FALSE(bus.read(kTop - 1, data));  // would run past the top: no wrap to address 0
}

TEST(Bus, LookupAtRangeEdges) {
  Bus bus("io");
  RecordingDevice dev(0x1000);
  bus.add(0x1000, 0x1000, dev, kWidth1 | kWidth2 | kWidth4);
  uint8_t byte;
  EXPECT_TRUE(bus.read(0x1000, std::span(&byte, 1)));
  EXPECT_TRUE(bus.read(0x1fff, std::span(&byte, 1)));
  EXPECT_FALSE(bus.read(0xfff, std::span(&byte, 1)));
  EXPECT_FALSE(bus.read(0x2000, std::span(&byte, 1)));
  EXPECT_EQ(bus_read(bus, 0x1ffc, 4), 0x9f9e9d9cu);  // memory[i] = 0xa0 + i, mod 256
  EXPECT_EQ(dev.log.size(), 3u);
}

TEST(Bus, AccessStraddlingARangeEndIsUnassigned) {
  Bus bus("io");
  RecordingDevice a, b;
  bus.add(0x10, 0x10, a);
  bus.add(0x20, 0x10, b);
  EXPECT_EQ(bus_read(bus, 0x1e, 4), 0xffffffffu);
  uint8_t data[2] = {1, 2};
  EXPECT_FALSE(bus.write(0x1f, data));
  EXPECT_FALSE(bus.write(0x2f, data));
  EXPECT_TRUE(a.log.empty());
  EXPECT_TRUE(b.log.empty());
  EXPECT_EQ(bus.unassigned().reads, 1u);
  EXPECT_EQ(bus.unassigned().writes, 2u);
}

TEST(Bus, UnassignedAccessesReadAllOnesAndAreCounted) {
  Bus bus("io");
  EXPECT_EQ(bus.name(), "io");
  uint8_t data[8] = {};
  EXPECT_FALSE(bus.read(0x80, data));
  for (uint8_t byte : data) EXPECT_EQ(byte, 0xff);
  EXPECT_FALSE(bus.write(0x80, std::span<const uint8_t>(data, 2)));
  EXPECT_FALSE(bus.write(0x81, std::span<const uint8_t>(data, 4)));
  EXPECT_EQ(bus.unassigned().reads, 1u);
  EXPECT_EQ(bus.unassigned().writes, 2u);
}

TEST(Bus, WidthsOtherThan1248AreUnassigned) {
  Bus bus("mmio");
  RecordingDevice dev;
  bus.add(0, 64, dev);
  uint8_t data[16];
  EXPECT_FALSE(bus.read(0, std::span(data, 3)));
  EXPECT_FALSE(bus.read(0, std::span(data, 16)));
  EXPECT_FALSE(bus.write(0, std::span<const uint8_t>(data, 0)));
  EXPECT_TRUE(dev.log.empty());
  EXPECT_EQ(bus.unassigned().reads, 2u);
  EXPECT_EQ(bus.unassigned().writes, 1u);
}

TEST(Bus, SplitsIntoWidestAcceptedNarrowerWidthLittleEndian) {
  Bus bus("io");
  RecordingDevice bytes_only, up_to_4, words;
  bus.add(0x000, 16, bytes_only, kWidth1);
  bus.add(0x100, 16, up_to_4, kWidth1 | kWidth2 | kWidth4);
  bus.add(0x200, 16, words, kWidth2 | kWidth8);

  bus_write(bus, 0x001, 4, 0x44332211);
  EXPECT_EQ(bytes_only.log, (std::vector<RecordingDevice::Access>{
                                {true, 1, 1}, {true, 2, 1}, {true, 3, 1}, {true, 4, 1}}));
  EXPECT_EQ(bytes_only.memory[1], 0x11);
  EXPECT_EQ(bytes_only.memory[4], 0x44);

  EXPECT_EQ(bus_read(bus, 0x104, 8), 0xabaaa9a8a7a6a5a4u);
  EXPECT_EQ(up_to_4.log, (std::vector<RecordingDevice::Access>{{false, 4, 4}, {false, 8, 4}}));

  bus_write(bus, 0x200, 4, 0xddccbbaa);  // 2 and 8 accepted: 4 splits into 2s
  EXPECT_EQ(words.log, (std::vector<RecordingDevice::Access>{{true, 0, 2}, {true, 2, 2}}));
  EXPECT_EQ(bus_read(bus, 0x200, 4), 0xddccbbaau);
  EXPECT_EQ(bus_read(bus, 0x208, 8), 0xafaeadacabaaa9a8u);
  EXPECT_EQ(words.log.back(), (RecordingDevice::Access{false, 8, 8}));
}

TEST(Bus, WidensToNarrowestAcceptedWidth) {
  Bus bus("mmio");
  RecordingDevice dwords(16);
  bus.add(0x1000, 16, dwords, kWidth4 | kWidth8);

  EXPECT_EQ(bus_read(bus, 0x1005, 1), 0xa5u);
  EXPECT_EQ(dwords.log, (std::vector<RecordingDevice::Access>{{false, 4, 4}}));

  dwords.log.clear();
  bus_write(bus, 0x1006, 2, 0x2211);
  EXPECT_EQ(dwords.log, (std::vector<RecordingDevice::Access>{{false, 4, 4}, {true, 4, 4}}));
  EXPECT_EQ(bus_read(bus, 0x1004, 4), 0x2211a5a4u);

  dwords.log.clear();  // unaligned: two windows, each read-modify-written
  bus_write(bus, 0x1003, 2, 0xbbaa);
  EXPECT_EQ(dwords.log, (std::vector<RecordingDevice::Access>{
                            {false, 0, 4}, {true, 0, 4}, {false, 4, 4}, {true, 4, 4}}));
  EXPECT_EQ(bus_read(bus, 0x1000, 8), 0x2211a5bbaaa2a1a0u);
  EXPECT_EQ(bus_read(bus, 0x1003, 2), 0xbbaau);
}

TEST(Bus, WideningPastTheRangeEndIsUnassigned) {
  Bus bus("mmio");
  RecordingDevice dev(8);
  bus.add(0x1000, 6, dev, kWidth4);  // a 4-byte window at offset 4 would end past the range
  EXPECT_EQ(bus_read(bus, 0x1001, 1), 0xa1u);
  EXPECT_EQ(bus_read(bus, 0x1005, 1), 0xffu);
  EXPECT_EQ(bus.unassigned().reads, 1u);
  EXPECT_EQ(dev.log.size(), 1u);
}

TEST(Bus, ConcurrentReadsFromSeveralThreads) {
  Bus bus("mmio");
  constexpr int kDevices = 8;
  std::vector<std::unique_ptr<RecordingDevice>> devices;
  for (int i = 0; i < kDevices; ++i) {
    devices.push_back(std::make_unique<RecordingDevice>(16));
    bus.add(0x1000 * (i + 1), 16, *devices.back(), kWidth1 | kWidth2 | kWidth4);
  }
  constexpr int kThreads = 4, kIterations = 20000;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIterations; ++i) {
        uint64_t device = (i + t) % kDevices;
        if (bus_read(bus, 0x1000 * (device + 1) + 4, 4) != 0xa7a6a5a4u) ++wrong;
        if (bus_read(bus, 0x800 + i % 16, 1) != 0xffu) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(bus.unassigned().reads, uint64_t{kThreads} * kIterations);
  size_t accesses = 0;
  for (auto& device : devices) accesses += device->log.size();
  EXPECT_EQ(accesses, size_t{kThreads} * kIterations);
}

TEST(Bus, RemoveFreesTheRangeForOthers) {
  Bus bus("mmio");
  RecordingDevice a, b;
  bus.add(0x1000, 0x10, a, kAnyWidth, "bar");
  bus.add(0x1010, 0x10, b, kAnyWidth, "next");
  bus.remove(0x1000, a);
  EXPECT_EQ(bus_read(bus, 0x1004, 4), 0xffffffffu);
  EXPECT_EQ(bus.unassigned().reads, 1u);
  EXPECT_EQ(bus_read(bus, 0x1010, 1), 0xa0u);  // the neighbour stays
  EXPECT_TRUE(a.log.empty());
  EXPECT_EQ(add_error(bus, 0x1008, 0x8, b), "");  // the space is free again
  bus.add(0x2000, 0x10, a, kAnyWidth, "bar");
  EXPECT_EQ(bus_read(bus, 0x2004, 1), 0xa4u);
  EXPECT_EQ(a.log, (std::vector<RecordingDevice::Access>{{false, 4, 1}}));
}

TEST(Bus, RemoveNeedsTheExactBaseAndDevice) {
  Bus bus("io");
  RecordingDevice a, b;
  bus.add(0x100, 0x10, a, kAnyWidth, "first");
  EXPECT_EQ(remove_error(bus, 0x104, a),
            "io bus: cannot remove the range at 0x104: no range of that device starts there");
  EXPECT_EQ(remove_error(bus, 0x100, b),
            "io bus: cannot remove the range at 0x100: no range of that device starts there");
  EXPECT_EQ(remove_error(bus, 0x200, a),
            "io bus: cannot remove the range at 0x200: no range of that device starts there");
  EXPECT_EQ(bus_read(bus, 0x100, 1), 0xa0u);  // failed removals left it alone
  EXPECT_EQ(remove_error(bus, 0x100, a), "");
  EXPECT_EQ(remove_error(bus, 0x100, a),
            "io bus: cannot remove the range at 0x100: no range of that device starts there");
}

TEST(Bus, RemovesOneOfTwoRangesOfTheSameDevice) {
  Bus bus("io");
  RecordingDevice a;
  bus.add(0x100, 0x10, a);
  bus.add(0x200, 0x10, a);
  bus.remove(0x200, a);
  EXPECT_TRUE(bus.write(0x100, std::vector<uint8_t>{1}));
  EXPECT_FALSE(bus.write(0x200, std::vector<uint8_t>{1}));
}

// A register that moves its own window when written, as a PCI BAR written through a config
// window on the same bus does: add and remove are called from inside an access.
class SelfMovingDevice : public BusDevice {
 public:
  SelfMovingDevice(Bus& bus, uint64_t base) : bus_(bus), base_(base) {
    bus_.add(base_, 0x10, *this, kAnyWidth, "mover");
  }
  void read(uint64_t, std::span<uint8_t> data) override {
    std::lock_guard lock(mutex_);
    std::fill(data.begin(), data.end(), static_cast<uint8_t>(base_ >> 12));
  }
  void write(uint64_t, std::span<const uint8_t> data) override {
    std::lock_guard lock(mutex_);  // held across add/remove, as a PCI device holds its own
    uint64_t next = uint64_t{data[0]} << 12;
    bus_.remove(base_, *this);
    bus_.add(next, 0x10, *this, kAnyWidth, "mover");
    base_ = next;
  }

 private:
  Bus& bus_;
  std::mutex mutex_;
  uint64_t base_;
};

TEST(Bus, DeviceMayMoveItselfFromInsideAnAccess) {
  Bus bus("mmio");
  SelfMovingDevice mover(bus, 0x1000);
  EXPECT_EQ(bus_read(bus, 0x1000, 1), 0x01u);
  bus_write(bus, 0x1000, 1, 0x05);
  EXPECT_EQ(bus_read(bus, 0x1000, 1), 0xffu);
  EXPECT_EQ(bus_read(bus, 0x5000, 1), 0x05u);
  bus_write(bus, 0x5008, 1, 0x02);
  EXPECT_EQ(bus_read(bus, 0x2004, 1), 0x02u);
}

TEST(Bus, AddAndRemoveWhileOtherThreadsAccess) {
  Bus bus("mmio");
  RecordingDevice fixed(16), moving(16);
  bus.add(0x1000, 16, fixed, kWidth1 | kWidth2 | kWidth4);
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        if (bus_read(bus, 0x1004, 4) != 0xa7a6a5a4u) ++wrong;
        uint64_t value = bus_read(bus, 0x8004, 4);  // the moving range, or nothing
        if (value != 0xa7a6a5a4u && value != 0xffffffffu) ++wrong;
      }
    });
  }
  for (int i = 0; i < 20000; ++i) {
    bus.add(0x8000, 16, moving, kWidth1 | kWidth2 | kWidth4);
    bus.remove(0x8000, moving);
  }
  stop = true;
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace kagami
