// PciDevice: header registers, BAR sizing for every type, capabilities, hostile writes, INTx.
#include "pci/pci_device.hpp"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "pci_test_support.hpp"

namespace kagami {
namespace {

using testing::RecordingIrqLine;
using testing::RegisterBlock;

const PciIdentity kIdentity{.vendor_id = 0x1af4,
                            .device_id = 0x1042,
                            .class_code = 0x01,
                            .subclass = 0x80,
                            .prog_if = 0x00,
                            .revision = 0x01,
                            .subsystem_vendor_id = 0x1af4,
                            .subsystem_id = 0x0002};

uint32_t read_config(PciDevice& device, uint16_t offset, size_t width) {
  uint8_t bytes[4];
  device.config_read(offset, std::span(bytes, width));
  uint32_t value = 0;
  for (size_t i = width; i-- > 0;) value = (value << 8) | bytes[i];
  return value;
}

void write_config(PciDevice& device, uint16_t offset, size_t width, uint32_t value) {
  uint8_t bytes[4];
  for (size_t i = 0; i < width; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
  device.config_write(offset, std::span<const uint8_t>(bytes, width));
}

// What Linux's __pci_read_base does: save, write all ones, read the mask, restore.
uint32_t size_mask(PciDevice& device, uint16_t offset) {
  uint32_t saved = read_config(device, offset, 4);
  write_config(device, offset, 4, 0xffff'ffff);
  uint32_t mask = read_config(device, offset, 4);
  write_config(device, offset, 4, saved);
  return mask;
}

std::string declare_error(PciDevice& device, unsigned index, PciBar bar) {
  try {
    device.declare_bar(index, std::move(bar));
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "";
}

TEST(PciDevice, IdentityRegistersAndDefaults) {
  PciDevice device(kIdentity, pci::IntxPin::kIntC);
  EXPECT_EQ(read_config(device, 0x00, 4), 0x1042'1af4u);
  EXPECT_EQ(read_config(device, 0x04, 4), 0u);  // command and status clear
  EXPECT_EQ(read_config(device, 0x08, 4), 0x0180'0001u);
  EXPECT_EQ(read_config(device, 0x0e, 1), 0u);
  EXPECT_EQ(read_config(device, 0x2c, 4), 0x0002'1af4u);
  EXPECT_EQ(read_config(device, 0x34, 1), 0u);
  EXPECT_EQ(read_config(device, 0x3d, 1), 3u);  // INTC#: pin register counts from 1
  EXPECT_EQ(device.intx_pin(), pci::IntxPin::kIntC);
  EXPECT_EQ(read_config(device, 0x40, 4), 0u);
  EXPECT_EQ(read_config(device, 0xffc, 4), 0u);
}

TEST(PciDevice, CommandRegisterKeepsOnlyImplementedBits) {
  PciDevice device(kIdentity);
  write_config(device, 0x04, 4, 0xffff'ffff);  // status is read-only too
  EXPECT_EQ(read_config(device, 0x04, 4), 0x0000'0407u);
  write_config(device, 0x05, 1, 0x00);
  EXPECT_EQ(read_config(device, 0x04, 2), 0x0007u);
}

class BarSizing : public ::testing::Test {
 protected:
  RegisterBlock block;
  PciDevice device{kIdentity};
};

TEST_F(BarSizing, IoBarIsA16BitDecoder) {
  device.declare_bar(0, {.type = PciBarType::kIo, .size = 32, .device = &block});
  EXPECT_EQ(read_config(device, 0x10, 4), 0x0000'0001u);
  EXPECT_EQ(size_mask(device, 0x10), 0x0000'ffe1u);
  write_config(device, 0x10, 4, 0x0000'c0ff);
  EXPECT_EQ(read_config(device, 0x10, 4), 0x0000'c0e1u);
  EXPECT_EQ(device.bar_address(0), 0xc0e0u);
}

TEST_F(BarSizing, Memory32Bar) {
  device.declare_bar(1, {.type = PciBarType::kMemory32, .size = 0x1000, .device = &block});
  EXPECT_EQ(size_mask(device, 0x14), 0xffff'f000u);
  device.declare_bar(
      2,
      {.type = PciBarType::kMemory32, .size = 0x10'0000, .device = &block, .prefetchable = true});
  EXPECT_EQ(read_config(device, 0x18, 4), 0x0000'0008u);
  EXPECT_EQ(size_mask(device, 0x18), 0xfff0'0008u);
  write_config(device, 0x18, 4, 0xc012'3456);
  EXPECT_EQ(read_config(device, 0x18, 4), 0xc010'0008u);
  EXPECT_EQ(device.bar_address(2), 0xc010'0000u);
  EXPECT_EQ(device.bar_address(0), std::nullopt);
}

TEST_F(BarSizing, SmallestMemoryBarKeepsItsTypeBits) {
  device.declare_bar(0, {.type = PciBarType::kMemory32, .size = 16, .device = &block});
  EXPECT_EQ(size_mask(device, 0x10), 0xffff'fff0u);
}

TEST_F(BarSizing, Memory64BarTakesTwoRegisters) {
  device.declare_bar(
      2, {.type = PciBarType::kMemory64, .size = 0x4000, .device = &block, .prefetchable = true});
  EXPECT_EQ(read_config(device, 0x18, 4), 0x0000'000cu);
  EXPECT_EQ(size_mask(device, 0x18), 0xffff'c00cu);
  EXPECT_EQ(size_mask(device, 0x1c), 0xffff'ffffu);  // the high half: all address bits
  write_config(device, 0x1c, 4, 0x0000'0040);
  write_config(device, 0x18, 4, 0x1234'5678);
  EXPECT_EQ(device.bar_address(2), 0x40'1234'4000u);
  EXPECT_EQ(device.bar(3), nullptr);
  EXPECT_EQ(device.bar_address(3), std::nullopt);
}

TEST_F(BarSizing, Memory64BarLargerThan4GiBHasAReadOnlyLowHalf) {
  device.declare_bar(0, {.type = PciBarType::kMemory64, .size = 8ull << 30, .device = &block});
  EXPECT_EQ(size_mask(device, 0x10), 0x0000'0004u);
  EXPECT_EQ(size_mask(device, 0x14), 0xffff'fffeu);
}

TEST_F(BarSizing, ByteWritesToABarChangeOnlyItsAddressBits) {
  device.declare_bar(0, {.type = PciBarType::kMemory32, .size = 0x1000, .device = &block});
  write_config(device, 0x11, 1, 0xff);
  EXPECT_EQ(read_config(device, 0x10, 4), 0x0000'f000u);
  write_config(device, 0x10, 1, 0xff);
  write_config(device, 0x12, 2, 0xabcd);
  EXPECT_EQ(read_config(device, 0x10, 4), 0xabcd'f000u);
  write_config(device, 0x0f, 2, 0xffff);  // crosses into the BAR from BIST
  EXPECT_EQ(read_config(device, 0x0c, 4), 0u);
  EXPECT_EQ(read_config(device, 0x10, 4), 0xabcd'f000u);
}

TEST_F(BarSizing, UndeclaredBarsAndTheRomReadZero) {
  for (uint16_t offset = 0x10; offset < 0x28; offset += 4) EXPECT_EQ(size_mask(device, offset), 0u);
  EXPECT_EQ(size_mask(device, 0x30), 0u);  // no expansion ROM
}

TEST_F(BarSizing, DeclarationErrorsNameTheBar) {
  PciBar io{.type = PciBarType::kIo, .size = 32, .device = &block};
  EXPECT_EQ(declare_error(device, 6, io), "pci device 1af4:1042 bar 6: index out of range");
  EXPECT_EQ(declare_error(device, 5, {.type = PciBarType::kMemory64, .size = 16, .device = &block}),
            "pci device 1af4:1042 bar 5: index out of range for a 64-bit bar");
  EXPECT_EQ(declare_error(device, 0, {.type = PciBarType::kIo, .size = 48, .device = &block}),
            "pci device 1af4:1042 bar 0: size is not a power of two");
  EXPECT_EQ(declare_error(device, 0, {.type = PciBarType::kMemory32, .device = &block}),
            "pci device 1af4:1042 bar 0: size is not a power of two");
  EXPECT_EQ(declare_error(device, 0, {.type = PciBarType::kIo, .size = 512, .device = &block}),
            "pci device 1af4:1042 bar 0: i/o size must be 4..256 bytes");
  EXPECT_EQ(declare_error(device, 0, {.type = PciBarType::kMemory32, .size = 8, .device = &block}),
            "pci device 1af4:1042 bar 0: memory size must be at least 16 bytes");
  EXPECT_EQ(declare_error(device, 0,
                          {.type = PciBarType::kMemory32, .size = 4ull << 30, .device = &block}),
            "pci device 1af4:1042 bar 0: a 32-bit bar cannot be larger than 2 GiB");
  EXPECT_EQ(
      declare_error(device, 0,
                    {.type = PciBarType::kIo, .size = 4, .device = &block, .prefetchable = true}),
      "pci device 1af4:1042 bar 0: an i/o bar cannot be prefetchable");
  EXPECT_EQ(declare_error(device, 0, {.type = PciBarType::kIo, .size = 4}),
            "pci device 1af4:1042 bar 0: no device serves it");

  device.declare_bar(1, {.type = PciBarType::kMemory64, .size = 0x1000, .device = &block});
  EXPECT_EQ(declare_error(device, 1, io), "pci device 1af4:1042 bar 1: already declared");
  EXPECT_EQ(declare_error(device, 2, io), "pci device 1af4:1042 bar 2: already declared");
  EXPECT_EQ(declare_error(device, 0, {.type = PciBarType::kMemory64, .size = 16, .device = &block}),
            "pci device 1af4:1042 bar 0: already declared");
  EXPECT_EQ(declare_error(device, 3, io), "");
  device.connect(nullptr, 0);
  EXPECT_EQ(declare_error(device, 4, io),
            "pci device 1af4:1042 bar 4: the device is already on a pci bus");
}

TEST(PciDevice, CapabilitiesAreLinkedAndMasked) {
  PciDevice device(kIdentity);
  const uint8_t first[] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60};  // 8 bytes with the header
  const uint8_t second[] = {0x01, 0x02, 0x03};
  const uint8_t second_writable[] = {0x00, 0xff, 0x0f};
  EXPECT_EQ(device.add_capability(pci::kCapabilityVendor, first), 0x40);
  EXPECT_EQ(device.add_capability(pci::kCapabilityMsix, second, second_writable), 0x48);
  EXPECT_EQ(read_config(device, 0x06, 2), pci::kStatusCapabilities);
  EXPECT_EQ(read_config(device, 0x34, 1), 0x40u);
  EXPECT_EQ(read_config(device, 0x40, 4), 0x2010'4809u);  // ID 9, next 0x48, body
  EXPECT_EQ(read_config(device, 0x44, 4), 0x6050'4030u);
  EXPECT_EQ(read_config(device, 0x48, 4), 0x0201'0011u);  // ID 0x11, last: next 0
  write_config(device, 0x40, 4, 0xffff'ffff);
  write_config(device, 0x48, 4, 0xffff'ffff);
  write_config(device, 0x4c, 1, 0xff);
  EXPECT_EQ(read_config(device, 0x40, 4), 0x2010'4809u);
  EXPECT_EQ(read_config(device, 0x48, 4), 0xff01'0011u);
  EXPECT_EQ(read_config(device, 0x4c, 1), 0x0fu);
  write_config(device, 0x34, 1, 0x00);
  write_config(device, 0x06, 2, 0x0000);
  EXPECT_EQ(read_config(device, 0x34, 1), 0x40u);
  EXPECT_EQ(read_config(device, 0x06, 2), pci::kStatusCapabilities);
}

TEST(PciDevice, CapabilityErrors) {
  PciDevice device(kIdentity);
  std::vector<uint8_t> big(0x80 - 2), rest(0x40 - 2), one(1);
  EXPECT_THROW(device.add_capability(9, one, std::vector<uint8_t>(2)), std::invalid_argument);
  EXPECT_EQ(device.add_capability(9, big), 0x40);
  EXPECT_EQ(device.add_capability(9, rest), 0xc0);
  try {
    device.add_capability(9, {});
    ADD_FAILURE() << "a capability past 0xff was accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(),
                 "pci device 1af4:1042 capability 9: no room left in the capability area");
  }
  EXPECT_EQ(read_config(device, 0xc1, 1), 0u);  // the last capability ends the list
}

// Every offset, every width, random values: identity and layout invariants hold, nothing outside
// the writable bits changes, and accesses running past 4 KiB are harmless.
TEST(PciDevice, HostileWritesKeepTheReadOnlyBits) {
  RegisterBlock block;
  PciDevice device(kIdentity, pci::IntxPin::kIntA);
  device.declare_bar(0, {.type = PciBarType::kIo, .size = 64, .device = &block});
  device.declare_bar(1, {.type = PciBarType::kMemory32, .size = 0x2000, .device = &block});
  device.declare_bar(
      2,
      {.type = PciBarType::kMemory64, .size = 0x10'0000, .device = &block, .prefetchable = true});
  const uint8_t cap[] = {0x10, 0x00, 0x00, 0x00};
  const uint8_t cap_writable[] = {0x00, 0xc0, 0x00, 0x00};
  device.add_capability(pci::kCapabilityMsix, cap, cap_writable);
  device.connect(nullptr, 16);

  std::mt19937_64 random(4);
  for (int round = 0; round < 4; ++round) {
    for (uint32_t offset = 0; offset < pci::kConfigSize; ++offset) {
      for (size_t width : {1, 2, 4}) {
        write_config(device, static_cast<uint16_t>(offset), width,
                     static_cast<uint32_t>(round == 0 ? ~0ull : random()));
        (void)read_config(device, static_cast<uint16_t>(offset), width);
      }
    }
    EXPECT_EQ(read_config(device, 0x00, 4), 0x1042'1af4u);
    EXPECT_EQ(read_config(device, 0x04, 4) & ~0x0407u, pci::kStatusCapabilities << 16);
    EXPECT_EQ(read_config(device, 0x08, 4), 0x0180'0001u);
    EXPECT_EQ(read_config(device, 0x0c, 4) & ~0xffu, 0u);
    EXPECT_EQ(read_config(device, 0x10, 4) & 0xffff'003fu, 0x1u);
    EXPECT_EQ(read_config(device, 0x14, 4) & 0x1fffu, 0x0u);
    EXPECT_EQ(read_config(device, 0x18, 4) & 0xf'ffffu, 0xcu);
    for (uint16_t offset = 0x20; offset < 0x3c; offset += 4) {
      uint32_t expected = offset == 0x2c ? 0x0002'1af4u : offset == 0x34 ? 0x40u : 0u;
      EXPECT_EQ(read_config(device, offset, 4), expected) << offset;
    }
    EXPECT_EQ(read_config(device, 0x3d, 3), 0x01u);
    EXPECT_EQ(read_config(device, 0x40, 4) & ~0xc000'0000u, 0x0010'0011u);
    EXPECT_EQ(read_config(device, 0x44, 2), 0u);
    for (uint16_t offset = 0x48; offset < pci::kConfigSize; offset += 4)
      ASSERT_EQ(read_config(device, offset, 4), 0u) << offset;
  }
  uint8_t past_end[4] = {1, 2, 3, 4};
  device.config_write(0xffe, past_end);
  device.config_read(0xffe, past_end);
  EXPECT_EQ(past_end[1], 0u);
  EXPECT_EQ(past_end[2], 0xffu);
  EXPECT_EQ(past_end[3], 0xffu);
}

class HookedDevice : public PciDevice {
 public:
  HookedDevice() : PciDevice(kIdentity) {}
  std::vector<std::pair<uint16_t, size_t>> writes;

 protected:
  void after_config_read(uint16_t offset, std::span<uint8_t> data) override {
    if (offset == 0x44 && data.size() == 4) data[0] = 0x5a;  // a register computed on access
  }
  void after_config_write(uint16_t offset, std::span<const uint8_t> data) override {
    writes.emplace_back(offset, data.size());
    (void)config_value(offset, 1);  // the lock is released: reading back must not deadlock
  }
};

TEST(PciDevice, HooksSeeAccessesAfterTheFact) {
  HookedDevice device;
  EXPECT_EQ(read_config(device, 0x44, 4), 0x5au);
  EXPECT_EQ(read_config(device, 0x44, 2), 0u);
  write_config(device, 0x3c, 1, 9);
  write_config(device, 0x04, 2, 0xffff);
  EXPECT_EQ(device.writes, (std::vector<std::pair<uint16_t, size_t>>{{0x3c, 1}, {0x04, 2}}));
  EXPECT_EQ(device.config_value(0x3c, 1), 9u);
}

TEST(PciDevice, IntxFollowsTheRequestUnlessDisabled) {
  RecordingIrqLine line;
  PciDevice device(kIdentity, pci::IntxPin::kIntB);
  device.connect(&line, 18);
  EXPECT_EQ(read_config(device, 0x3c, 2), 0x0212u);
  device.set_intx(true);
  EXPECT_TRUE(line.level());
  EXPECT_EQ(read_config(device, 0x06, 2), pci::kStatusInterrupt);
  device.set_intx(true);  // no second edge for a level already high
  EXPECT_EQ(line.levels, (std::vector<bool>{true}));

  write_config(device, 0x04, 2, pci::kCommandIntxDisable);
  EXPECT_FALSE(line.level());
  EXPECT_EQ(read_config(device, 0x06, 2), pci::kStatusInterrupt);  // still pending
  write_config(device, 0x05, 1, 0x00);
  EXPECT_TRUE(line.level());
  device.set_intx(false);
  EXPECT_FALSE(line.level());
  EXPECT_EQ(read_config(device, 0x06, 2), 0u);
  write_config(device, 0x04, 4, 0xffff'ffff);  // status bits cannot be set by the guest
  EXPECT_EQ(read_config(device, 0x06, 2), 0u);
  EXPECT_EQ(line.levels, (std::vector<bool>{true, false, true, false}));
}

TEST(PciDevice, DeviceWithoutPinIgnoresIntx) {
  RecordingIrqLine line;
  PciDevice device(kIdentity);
  device.connect(&line, 0);
  device.set_intx(true);
  EXPECT_TRUE(line.levels.empty());
  EXPECT_EQ(read_config(device, 0x06, 2), 0u);
  EXPECT_EQ(read_config(device, 0x3d, 1), 0u);
}

TEST(PciDevice, ConnectsOnce) {
  PciDevice device(kIdentity);
  device.connect(nullptr, 0);
  EXPECT_THROW(device.connect(nullptr, 0), std::invalid_argument);
  EXPECT_THROW(device.add_capability(9, {}), std::invalid_argument);
}

}  // namespace
}  // namespace kagami
