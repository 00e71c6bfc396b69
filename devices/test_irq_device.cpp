// kagami's test-irq device: MSI registers and an irqfd, doorbells and their ioeventfd counters.
#include "test_irq_device.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "kagami/le_bytes.hpp"

namespace kagami {
namespace {

int make_eventfd() {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  return fd;
}

// What the eventfd counted since the last drain (0 when nothing: the fd is non-blocking).
uint64_t drain(int fd) {
  uint64_t count = 0;
  if (::read(fd, &count, sizeof(count)) != sizeof(count)) return 0;
  return count;
}

}  // namespace

TestIrqDevice::TestIrqDevice(RouteSetter set_route) : set_route_(std::move(set_route)) {
  try {
    irq_fd_ = make_eventfd();
    doorbell_fd_ = make_eventfd();
    matched_fd_ = make_eventfd();
    mmio_fd_ = make_eventfd();
  } catch (...) {
    for (int fd : {irq_fd_, doorbell_fd_, matched_fd_, mmio_fd_})
      if (fd >= 0) close(fd);
    throw;
  }
}

TestIrqDevice::~TestIrqDevice() {
  close(irq_fd_);
  close(doorbell_fd_);
  close(matched_fd_);
  close(mmio_fd_);
}

void TestIrqDevice::attach(Bus& io, Bus& mmio, uint16_t base, uint64_t mmio_base) {
  io.add(base, kSize, *this, kWidth1 | kWidth2 | kWidth4, "test-irq");
  mmio.add(mmio_base, kMmioSize, mmio_doorbell_, kWidth1 | kWidth2 | kWidth4, "test-irq doorbell");
}

void TestIrqDevice::MmioDoorbell::read(uint64_t, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), 0);
}

void TestIrqDevice::MmioDoorbell::write(uint64_t offset, std::span<const uint8_t>) {
  std::lock_guard lock(device_.mutex_);
  if (offset < 4) device_.mmio_exits_++;
}

uint32_t TestIrqDevice::register_value(uint64_t offset) {
  switch (offset) {
    case 0x00: return kSignature;
    case 0x04: return static_cast<uint32_t>(msi_address_);
    case 0x08: return static_cast<uint32_t>(msi_address_ >> 32);
    case 0x0c: return msi_data_;
    case 0x10: return fires_;
    case 0x18: doorbells_ += drain(doorbell_fd_); return static_cast<uint32_t>(doorbells_);
    case 0x1c: return static_cast<uint32_t>(doorbell_exits_);
    case 0x24: matched_ += drain(matched_fd_); return static_cast<uint32_t>(matched_);
    case 0x28: return static_cast<uint32_t>(matched_exits_);
    case 0x2c: mmio_doorbells_ += drain(mmio_fd_); return static_cast<uint32_t>(mmio_doorbells_);
    case 0x30: return static_cast<uint32_t>(mmio_exits_);
    default: return 0;
  }
}

// Registers are read whole; a narrower read returns the low bytes of the register it starts in.
void TestIrqDevice::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  uint32_t value = register_value(offset & ~uint64_t{3}) >> (8 * (offset & 3));
  store_le(data, value);
}

void TestIrqDevice::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  uint32_t value = static_cast<uint32_t>(load_le(data));
  bool whole = data.size() == 4 && (offset & 3) == 0;
  switch (offset & ~uint64_t{3}) {
    case 0x04:
      if (whole) msi_address_ = (msi_address_ & ~uint64_t{0xffffffff}) | value;
      break;
    case 0x08:
      if (whole) msi_address_ = (msi_address_ & 0xffffffff) | uint64_t{value} << 32;
      break;
    case 0x0c:
      if (whole) msi_data_ = value;
      break;
    case 0x10: fire(); break;
    case kDoorbell: doorbell_exits_++; break;
    case kMatchedDoorbell: matched_exits_++; break;
    default: break;
  }
}

// The route changes only when the guest changed the message: KVM_SET_GSI_ROUTING is slow.
void TestIrqDevice::fire() {
  if (!routed_ || routed_address_ != msi_address_ || routed_data_ != msi_data_) {
    set_route_(msi_address_, msi_data_);
    routed_ = true;
    routed_address_ = msi_address_;
    routed_data_ = msi_data_;
  }
  fires_++;
  uint64_t one = 1;
  // Cannot fail short of a counter overflow (2^64 - 1 fires).
  [[maybe_unused]] ssize_t n = ::write(irq_fd_, &one, sizeof(one));
}

void TestIrqDevice::save_state(StateWriter& out) const {
  std::lock_guard lock(mutex_);
  doorbells_ += drain(doorbell_fd_);
  matched_ += drain(matched_fd_);
  mmio_doorbells_ += drain(mmio_fd_);
  out.u64("msi-address", msi_address_);
  out.u32("msi-data", msi_data_);
  out.u32("fires", fires_);
  out.u64("doorbells", doorbells_);
  out.u64("doorbell-exits", doorbell_exits_);
  out.u64("matched", matched_);
  out.u64("matched-exits", matched_exits_);
  out.u64("mmio-doorbells", mmio_doorbells_);
  out.u64("mmio-exits", mmio_exits_);
}

void TestIrqDevice::load_state(const StateReader& in) {
  uint64_t msi_address = in.u64("msi-address");
  uint32_t msi_data = in.u32("msi-data");
  uint32_t fires = in.u32("fires");
  uint64_t doorbells = in.u64("doorbells"), doorbell_exits = in.u64("doorbell-exits");
  uint64_t matched = in.u64("matched"), matched_exits = in.u64("matched-exits");
  uint64_t mmio_doorbells = in.u64("mmio-doorbells"), mmio_exits = in.u64("mmio-exits");
  std::lock_guard lock(mutex_);
  drain(doorbell_fd_);
  drain(matched_fd_);
  drain(mmio_fd_);
  msi_address_ = msi_address;
  msi_data_ = msi_data;
  routed_ = false;
  fires_ = fires;
  doorbells_ = doorbells;
  doorbell_exits_ = doorbell_exits;
  matched_ = matched;
  matched_exits_ = matched_exits;
  mmio_doorbells_ = mmio_doorbells;
  mmio_exits_ = mmio_exits;
}

}  // namespace kagami
