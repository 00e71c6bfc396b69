// Bus: range checks, lookup at the edges, width splitting and widening, unassigned accesses.
#include "kagami/bus.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace kagami
