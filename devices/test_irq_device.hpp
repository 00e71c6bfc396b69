// kagami's test-irq device: MSIs through an irqfd, and doorbells through ioeventfds, for the
// guest suite's msi_irqfd and ioeventfd guests (a kagami-only device: QEMU has no equivalent).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

#include "kagami/bus.hpp"
#include "kagami/state.hpp"

namespace kagami {

// Ports (kDefaultBase + offset), 32-bit registers; narrower accesses are accepted so that the
// ioeventfd guest can show that a 2-byte doorbell write does not match a 4-byte ioeventfd:
//   0x00 R   signature kSignature ("kirq"): the guest's way to find the device
//   0x04 RW  MSI address, low half      0x08 RW  MSI address, high half
//   0x0c RW  MSI data
//   0x10 W   fire: points the irqfd's MSI route at (address, data) when they changed since the
//            last fire, then signals the irqfd eventfd. R: fires so far.
//   0x14 W   doorbell: the VMM registers it as a 4-byte ioeventfd (any value), so its writes never
//            reach the device; one that does (a 2-byte write, or no ioeventfd) counts as an exit.
//   0x18 R   doorbell count: the eventfd's counter, drained and accumulated
//   0x1c R   doorbell writes that reached the device (exits)
//   0x20 W   matched doorbell: a 4-byte ioeventfd with datamatch kMatchValue; other values reach
//            the device and count as exits
//   0x24 R   matched doorbell count      0x28 R   matched doorbell exits
//   0x2c R   MMIO doorbell count         0x30 R   MMIO doorbell exits
// MMIO window (kDefaultMmioBase, 4 KiB): its first 4 bytes are the MMIO doorbell, a 4-byte MMIO
// ioeventfd (any value); writes that reach the device count as exits, reads return 0.
// The device owns the four eventfds; the VMM registers them with the hypervisor (the device
// never issues ioctls) and gives it the route setter.
class TestIrqDevice final : public BusDevice, public Stateful {
 public:
  static constexpr uint16_t kDefaultBase = 0x2100;
  static constexpr uint64_t kSize = 0x40;
  static constexpr uint64_t kDefaultMmioBase = 0xff010000;  // after pc-testdev's scratch
  static constexpr uint64_t kMmioSize = 0x1000;
  static constexpr uint32_t kSignature = 0x7172696b;  // "kirq"
  static constexpr uint32_t kMatchValue = 0x600d;
  static constexpr uint64_t kDoorbell = 0x14;
  static constexpr uint64_t kMatchedDoorbell = 0x20;

  // Sets the MSI route of the irqfd's GSI; called from the writing vCPU's thread.
  using RouteSetter = std::function<void(uint64_t address, uint32_t data)>;

  explicit TestIrqDevice(RouteSetter set_route);  // throws std::system_error without eventfds
  ~TestIrqDevice() override;
  TestIrqDevice(const TestIrqDevice&) = delete;
  TestIrqDevice& operator=(const TestIrqDevice&) = delete;

  void attach(Bus& io, Bus& mmio, uint16_t base = kDefaultBase,
              uint64_t mmio_base = kDefaultMmioBase);

  int irq_eventfd() const { return irq_fd_; }
  int doorbell_eventfd() const { return doorbell_fd_; }
  int matched_doorbell_eventfd() const { return matched_fd_; }
  int mmio_doorbell_eventfd() const { return mmio_fd_; }

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Stateful: the MSI message, the fire count and the doorbell counters (what the eventfds
  // counted included: saving drains them into the counters, which the guest cannot tell). A
  // load discards what the eventfds counted here and forgets the route, so the next fire sets
  // it on this machine.
  void save_state(StateWriter& out) const override;
  void load_state(const StateReader& in) override;

 private:
  class MmioDoorbell final : public BusDevice {
   public:
    explicit MmioDoorbell(TestIrqDevice& device) : device_(device) {}
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

   private:
    TestIrqDevice& device_;
  };

  uint32_t register_value(uint64_t offset);
  void fire();

  RouteSetter set_route_;
  int irq_fd_ = -1;
  int doorbell_fd_ = -1;
  int matched_fd_ = -1;
  int mmio_fd_ = -1;
  MmioDoorbell mmio_doorbell_{*this};

  mutable std::mutex mutex_;
  uint64_t msi_address_ = 0;
  uint32_t msi_data_ = 0;
  bool routed_ = false;  // a route was set, for routed_address_/routed_data_
  uint64_t routed_address_ = 0;
  uint32_t routed_data_ = 0;
  uint32_t fires_ = 0;
  // The eventfd counts are drained into these when read or saved, hence mutable.
  mutable uint64_t doorbells_ = 0, matched_ = 0, mmio_doorbells_ = 0;
  uint64_t doorbell_exits_ = 0, matched_exits_ = 0, mmio_exits_ = 0;
};

}  // namespace kagami
