// A machine's RAM for migration on a real hypervisor: dirty logging of guest and VMM writes,
// adopting another process's memfd, discarding, and the vCPU throttle and nested pauses.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>

#include "core/console.hpp"
#include "core/event_loop.hpp"
#include "core/machine.hpp"
#include "core/vcpu_throttle.hpp"
#include "machine_runner.hpp"
#include "test_guest.hpp"

namespace kagami {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kGuestPage = 0x200000;  // the guest writes here
constexpr uint64_t kHostPage = 0x300000;   // the test writes here through GuestMemory

// 1: mov %ecx, 0x200000; inc %ecx; jmp 1b
const std::vector<uint8_t> kWriter = {0x89, 0x0D, 0x00, 0x00, 0x20, 0x00, 0x41, 0xEB, 0xF7};
// mov $0xe0, %dx; 1: out %eax, %dx; jmp 1b
const std::vector<uint8_t> kPortWriter = {0x66, 0xBA, 0xE0, 0x00, 0xEF, 0xEB, 0xFD};

bool dirty(const std::vector<uint64_t>& bitmap, uint64_t gpa) {
  uint64_t page = gpa / 4096;  // low RAM: page number = gpa / 4096
  return page / 64 < bitmap.size() && (bitmap[page / 64] >> (page % 64) & 1);
}

bool all_clean(const std::vector<uint64_t>& bitmap) {
  for (uint64_t word : bitmap)
    if (word) return false;
  return true;
}

class CountingDevice : public BusDevice {
 public:
  void read(uint64_t, std::span<uint8_t> data) override {
    std::memset(data.data(), 0, data.size());
  }
  void write(uint64_t, std::span<const uint8_t>) override { writes.fetch_add(1); }
  std::atomic<uint64_t> writes{0};
};

class MachineMemoryTest : public testing::Test {
 protected:
  void SetUp() override {
    hypervisor_ = test::open_test_hypervisor();
    if (!hypervisor_)
      GTEST_SKIP() << "SKIPPED: no /dev/kagami or /dev/kvm on this machine: machine tests need one";
  }

  MachineConfig config(std::vector<uint8_t> code, bool incoming = false, bool shared = false) {
    MachineConfig c;
    c.kernel_path = "test-guest";
    c.kernel = test::kludge_image(std::move(code));
    c.memory = 16ull << 20;
    c.irqchip = IrqchipMode::kNone;
    c.incoming = incoming;
    c.shared_memory = shared;
    return c;
  }

  uint32_t read_u32(Machine& machine, uint64_t gpa) {
    uint32_t value = 0;
    EXPECT_TRUE(machine.memory().read(gpa, {reinterpret_cast<uint8_t*>(&value), 4}));
    return value;
  }

  std::unique_ptr<Hypervisor> hypervisor_;
  EventLoop loop_;
  EventLoop second_loop_;
  Console console_{SerialConfig{SerialConfig::Kind::kNone, {}}};
};

TEST_F(MachineMemoryTest, GuestAndVmmWritesAreLoggedAndCleanAfterCollecting) {
  Machine machine(config(kWriter), *hypervisor_, loop_, console_);
  test::MachineRunner runner(machine);
  ASSERT_TRUE(test::wait_until([&] { return read_u32(machine, kGuestPage) > 1000; }));
  machine.start_dirty_log();
  std::this_thread::sleep_for(20ms);
  const uint8_t bytes[] = {1, 2, 3};
  ASSERT_TRUE(machine.memory().write(kHostPage, bytes));
  std::vector<uint64_t> bitmap;
  machine.collect_dirty(bitmap);
  ASSERT_EQ(bitmap.size(), (16ull << 20) / 4096 / 64);
  EXPECT_TRUE(dirty(bitmap, kGuestPage)) << "the guest's write was not logged";
  EXPECT_TRUE(dirty(bitmap, kHostPage)) << "the VMM's write was not logged";
  EXPECT_FALSE(dirty(bitmap, 0x500000)) << "an untouched page came out dirty";

  machine.pause();
  std::vector<uint64_t> drained, again;
  machine.collect_dirty(drained);
  machine.collect_dirty(again);
  EXPECT_TRUE(all_clean(again)) << "pages stayed dirty after being collected";

  machine.resume();
  std::this_thread::sleep_for(20ms);
  std::vector<uint64_t> resumed;
  machine.collect_dirty(resumed);
  EXPECT_TRUE(dirty(resumed, kGuestPage)) << "a write after collecting was not logged";

  machine.stop_dirty_log();
  ASSERT_TRUE(machine.memory().write(kHostPage, bytes));
  std::vector<uint64_t> after;
  machine.memory().take_dirty(after);
  EXPECT_FALSE(dirty(after, kHostPage)) << "a VMM write was logged with logging off";
}

TEST_F(MachineMemoryTest, DiscardZerosRam) {
  for (bool shared : {false, true}) {
    Machine machine(config(kWriter, true, shared), *hypervisor_, loop_, console_);
    const uint8_t bytes[] = {7, 7, 7, 7};
    ASSERT_TRUE(machine.memory().write(kHostPage, bytes));
    machine.discard();
    EXPECT_EQ(read_u32(machine, kHostPage), 0u) << (shared ? "memfd" : "anonymous");
  }
}

int memfd_with(uint64_t size, uint64_t offset, uint32_t value) {
  int fd = memfd_create("test-ram", MFD_CLOEXEC);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(ftruncate(fd, static_cast<off_t>(size)), 0);
  EXPECT_EQ(pwrite(fd, &value, 4, static_cast<off_t>(offset)), 4);
  return fd;
}

TEST_F(MachineMemoryTest, AdoptedMemoryIsTheOtherMappingAndDiscardLetsItGo) {
  Machine machine(config(kWriter, true), *hypervisor_, loop_, console_);
  int fd = memfd_with(16ull << 20, kHostPage, 0xabcd1234);
  machine.adopt_memory(fd);
  EXPECT_EQ(read_u32(machine, kHostPage), 0xabcd1234u);
  const uint8_t bytes[] = {0x11, 0x22, 0x33, 0x44};
  ASSERT_TRUE(machine.memory().write(kGuestPage, bytes));
  uint32_t seen = 0;
  ASSERT_EQ(pread(fd, &seen, 4, kGuestPage), 4);
  EXPECT_EQ(seen, 0x44332211u) << "the adopted mapping is not shared";

  machine.discard();
  EXPECT_EQ(read_u32(machine, kHostPage), 0u);
  ASSERT_EQ(pread(fd, &seen, 4, kHostPage), 4);
  EXPECT_EQ(seen, 0xabcd1234u) << "discard cleared the adopted memory";
  close(fd);
}

TEST_F(MachineMemoryTest, AdoptingMemoryOfAnotherSizeChangesNothing) {
  Machine machine(config(kWriter, true), *hypervisor_, loop_, console_);
  const uint8_t bytes[] = {5, 6, 7, 8};
  ASSERT_TRUE(machine.memory().write(kHostPage, bytes));
  int fd = memfd_with(8ull << 20, 0, 1);
  EXPECT_THROW(machine.adopt_memory(fd), std::runtime_error);
  EXPECT_EQ(read_u32(machine, kHostPage), 0x08070605u);
  EXPECT_FALSE(machine.memory().adopted());
  close(fd);
}

// Local migration end to end: the destination adopts the source's memfd and state, runs, and
// the source's own mapping sees the guest write on.
TEST_F(MachineMemoryTest, AGuestMovesToAnotherMachineOnTheSameMemory) {
  Machine source(config(kWriter, false, true), *hypervisor_, loop_, console_);
  ASSERT_GE(source.memory().fd(), 0);
  std::vector<uint8_t> state;
  test::MachineRunner source_runner(source);
  ASSERT_TRUE(test::wait_until([&] { return read_u32(source, kGuestPage) > 1000; }));
  source.pause();
  state = source.save_state();
  const uint32_t stopped_at = read_u32(source, kGuestPage);

  Machine destination(config(kWriter, true), *hypervisor_, second_loop_, console_);
  destination.adopt_memory(source.memory().fd());
  destination.load_state(state);
  test::MachineRunner destination_runner(destination);
  EXPECT_TRUE(test::wait_until([&] { return read_u32(source, kGuestPage) > stopped_at + 1000; }))
      << "the guest did not go on on the destination";
  destination.migrated_away("test");
  EXPECT_EQ(destination_runner.stop().reason, MachineExit::Reason::kMigrated);
}

TEST_F(MachineMemoryTest, MigratedAwayStopsTheMachineSayingWhere) {
  Machine machine(config(kWriter), *hypervisor_, loop_, console_);
  test::MachineRunner runner(machine);
  machine.pause();
  machine.migrated_away("tcp:10.0.0.2:4444");
  MachineExit exit = runner.stop();
  EXPECT_EQ(exit.reason, MachineExit::Reason::kMigrated);
  EXPECT_EQ(exit.status, kExitOk);
  EXPECT_EQ(exit.message, "migrated to tcp:10.0.0.2:4444");
}

uint64_t writes_in(CountingDevice& counter, std::chrono::milliseconds period) {
  uint64_t start = counter.writes.load();
  std::this_thread::sleep_for(period);
  return counter.writes.load() - start;
}

// At 99% a vCPU sleeps 990 ms per 10 ms of running; lifting the throttle wakes it at once.
// (Milder shares are not measured here: on a loaded host the scheduler's own sharing of the
// CPU blurs them.)
TEST_F(MachineMemoryTest, ThrottleKeepsTheGuestOutAndLiftingItLetsItGo) {
  Machine machine(config(kPortWriter), *hypervisor_, loop_, console_);
  CountingDevice counter;
  machine.io_bus().add(0xe0, 4, counter);
  test::MachineRunner runner(machine);
  ASSERT_TRUE(test::wait_until([&] { return counter.writes.load() > 100; }));
  uint64_t free_rate = writes_in(counter, 300ms);
  machine.set_throttle(99);
  std::this_thread::sleep_for(50ms);
  uint64_t throttled_rate = writes_in(counter, 300ms);
  machine.set_throttle(0);
  uint64_t lifted_rate = writes_in(counter, 300ms);
  EXPECT_LT(throttled_rate * 10, free_rate)
      << "free " << free_rate << ", throttled " << throttled_rate;
  EXPECT_GT(lifted_rate * 3, free_rate) << "free " << free_rate << ", lifted " << lifted_rate;
}

TEST(VcpuThrottle, SleepsItsShareOfEachSlice) {
  EXPECT_EQ(VcpuThrottle::sleep_ns(0), 0u);
  EXPECT_EQ(VcpuThrottle::sleep_ns(50), VcpuThrottle::kTimesliceNs);
  EXPECT_EQ(VcpuThrottle::sleep_ns(80), 4 * VcpuThrottle::kTimesliceNs);
  EXPECT_EQ(VcpuThrottle::sleep_ns(99), 99 * VcpuThrottle::kTimesliceNs);
  EXPECT_EQ(VcpuThrottle::sleep_ns(150), 99 * VcpuThrottle::kTimesliceNs);
}

TEST_F(MachineMemoryTest, PausesNest) {
  Machine machine(config(kPortWriter), *hypervisor_, loop_, console_);
  CountingDevice counter;
  machine.io_bus().add(0xe0, 4, counter);
  test::MachineRunner runner(machine);
  ASSERT_TRUE(test::wait_until([&] { return counter.writes.load() > 100; }));
  machine.pause();
  machine.pause();
  machine.resume();
  EXPECT_TRUE(machine.paused());
  EXPECT_EQ(writes_in(counter, 50ms), 0u) << "one resume of two pauses let the vCPU run";
  machine.resume();
  EXPECT_FALSE(machine.paused());
  EXPECT_TRUE(
      test::wait_until([&] { return counter.writes.load() > 0 && writes_in(counter, 10ms) > 0; }));
  machine.resume();  // one too many: ignored
  machine.pause();
  EXPECT_TRUE(machine.paused());
  EXPECT_EQ(writes_in(counter, 50ms), 0u);
}

}  // namespace
}  // namespace kagami
