// Machine-level tests on a real hypervisor device, with guests of a few instructions.
//
// The guests are a few instructions each (test_guest.hpp). They need /dev/kagami or /dev/kvm;
// without one the tests are reported as skipped, with the reason.
#include "core/machine.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/console.hpp"
#include "core/event_loop.hpp"
#include "kagami/hypervisor.hpp"
#include "test_guest.hpp"

namespace kagami {
namespace {

using namespace std::chrono_literals;
using test::kludge_image;
using test::wait_until;

class MachineTest : public testing::Test {
 protected:
  void SetUp() override {
    hypervisor_ = test::open_test_hypervisor();
    if (hypervisor_) return;
    GTEST_SKIP() << "SKIPPED: no /dev/kagami or /dev/kvm on this machine: machine tests need one";
  }

  MachineConfig config(std::vector<uint8_t> code) {
    MachineConfig c;
    c.kernel_path = "test-guest";
    c.kernel = kludge_image(std::move(code));
    c.memory = 16ull << 20;
    // These guests end in HLT, which stops a machine without interrupt controllers; with
    // them (IrqchipMode::kSplit, as on /dev/kvm by default) a HLT waits for an interrupt.
    c.irqchip = IrqchipMode::kNone;
    return c;
  }

  std::unique_ptr<Hypervisor> hypervisor_;
  EventLoop loop_;
  Console console_{SerialConfig{SerialConfig::Kind::kNone, {}}};
};

// Counts writes, so a test can watch the guest make progress.
class CountingDevice : public BusDevice {
 public:
  void read(uint64_t, std::span<uint8_t> data) override {
    std::memset(data.data(), 0, data.size());
  }
  void write(uint64_t, std::span<const uint8_t>) override { writes.fetch_add(1); }
  std::atomic<uint64_t> writes{0};
};

TEST_F(MachineTest, DebugExitGivesTheStatus) {
  // mov $5, %eax; out %eax, $0xf4
  Machine machine(config({0xB8, 0x05, 0x00, 0x00, 0x00, 0xE7, 0xF4}), *hypervisor_, loop_,
                  console_);
  MachineExit exit = machine.run();
  EXPECT_EQ(exit.reason, MachineExit::Reason::kGuestExit);
  EXPECT_EQ(exit.status, (5 << 1) | 1);
}

TEST_F(MachineTest, EntryStateIsMultiboot) {
  // cmp $0x2BADB002, %eax; jne fail; mov $0, %eax; out %eax, $0xf4; fail: mov $1,%eax; out
  Machine machine(config({0x3D, 0x02, 0xB0, 0xAD, 0x2B, 0x75, 0x07, 0xB8, 0x00, 0x00, 0x00,
                          0x00, 0xE7, 0xF4, 0xB8, 0x01, 0x00, 0x00, 0x00, 0xE7, 0xF4}),
                  *hypervisor_, loop_, console_);
  MachineExit exit = machine.run();
  EXPECT_EQ(exit.status, 1) << "EAX did not hold the Multiboot magic at entry";
}

TEST_F(MachineTest, HaltWithNothingToWakeStops) {
  Machine machine(config({0xF4}), *hypervisor_, loop_, console_);  // hlt
  MachineExit exit = machine.run();
  EXPECT_EQ(exit.reason, MachineExit::Reason::kHalted);
  EXPECT_EQ(exit.status, kExitOk);
}

TEST_F(MachineTest, TripleFaultIsFatal) {
  // ud2 with no IDT: #UD -> #GP -> #DF -> shutdown
  Machine machine(config({0x0F, 0x0B}), *hypervisor_, loop_, console_);
  testing::internal::CaptureStderr();
  MachineExit exit = machine.run();
  std::string report = testing::internal::GetCapturedStderr();
  EXPECT_EQ(exit.reason, MachineExit::Reason::kFatal);
  EXPECT_EQ(exit.status, kExitGuestCrashed);
  EXPECT_NE(report.find("KVM_EXIT_SHUTDOWN"), std::string::npos) << report;
  EXPECT_NE(report.find("RIP="), std::string::npos) << report;
  EXPECT_NE(report.find("CR0="), std::string::npos) << report;
}

TEST_F(MachineTest, I8042ResetCommandResets) {
  // mov $0xfe, %al; out %al, $0x64; hlt
  Machine machine(config({0xB0, 0xFE, 0xE6, 0x64, 0xF4}), *hypervisor_, loop_, console_);
  EXPECT_EQ(machine.run().reason, MachineExit::Reason::kReset);
}

TEST_F(MachineTest, UnassignedPortsReadAllOnesAndAreCounted) {
  // in $0x80, %eax; out %eax, $0xf4 (status = (eax << 1) | 1, truncated to 8 bits by exit())
  Machine machine(config({0xE5, 0x80, 0xE7, 0xF4}), *hypervisor_, loop_, console_);
  MachineExit exit = machine.run();
  EXPECT_EQ(exit.status & 0xff, 0xff);
  EXPECT_EQ(machine.io_bus().unassigned().reads, 1u);
}

TEST_F(MachineTest, PauseStopsTheVcpuAndResumeLetsItGoOn) {
  // mov $0xe0, %dx; 1: out %eax, %dx; jmp 1b
  Machine machine(config({0x66, 0xBA, 0xE0, 0x00, 0xEF, 0xEB, 0xFD}), *hypervisor_, loop_,
                  console_);
  CountingDevice counter;
  machine.io_bus().add(0xe0, 4, counter);
  MachineExit exit{};
  std::thread runner([&] { exit = machine.run(); });

  ASSERT_TRUE(wait_until([&] { return counter.writes.load() > 100; }));
  machine.pause();
  uint64_t paused_at = counter.writes.load();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(counter.writes.load(), paused_at) << "the vCPU ran while paused";

  machine.resume();
  EXPECT_TRUE(wait_until([&] { return counter.writes.load() > paused_at + 100; }))
      << "the vCPU did not resume";

  machine.request_stop({MachineExit::Reason::kQuit, kExitOk, {}});
  runner.join();
  EXPECT_EQ(exit.reason, MachineExit::Reason::kQuit);
}

TEST_F(MachineTest, StopFromAnotherThreadEndsASpinningGuest) {
  Machine machine(config({0xEB, 0xFE}), *hypervisor_, loop_, console_);  // jmp .
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    machine.request_stop({MachineExit::Reason::kSignal, kExitOk, "test"});
  });
  MachineExit exit = machine.run();
  stopper.join();
  EXPECT_EQ(exit.reason, MachineExit::Reason::kSignal);
}

// Console input end to end: stdin (a pipe here) -> Console -> UART receive FIFO -> guest.
// 100 bytes do not fit the 16-byte FIFO, so this also proves the console waits for room
// instead of dropping input.
TEST_F(MachineTest, StdinReachesTheGuestThroughTheUart) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  std::string input(100, 'x');
  input += '\n';
  ASSERT_EQ(write(pipe_fds[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
  close(pipe_fds[1]);
  int saved_stdin = dup(STDIN_FILENO);
  dup2(pipe_fds[0], STDIN_FILENO);
  close(pipe_fds[0]);

  MachineExit exit{};
  {
    EventLoop loop;
    Console console(SerialConfig{SerialConfig::Kind::kStdio, {}});
    // ecx = 0; loop: wait for LSR.DR; al = RBR; if al == '\n' exit(ecx); ecx++; jmp loop
    Machine machine(
        config({0x31, 0xC9, 0x66, 0xBA, 0xFD, 0x03, 0xEC, 0xA8, 0x01, 0x74, 0xFB, 0x66, 0xBA, 0xF8,
                0x03, 0xEC, 0x3C, 0x0A, 0x74, 0x03, 0x41, 0xEB, 0xEB, 0x89, 0xC8, 0xE7, 0xF4}),
        *hypervisor_, loop, console);
    exit = machine.run();
  }
  dup2(saved_stdin, STDIN_FILENO);
  close(saved_stdin);
  EXPECT_EQ(exit.reason, MachineExit::Reason::kGuestExit);
  EXPECT_EQ(exit.status, (100 << 1) | 1) << "the guest did not receive exactly 100 bytes";
}

}  // namespace
}  // namespace kagami
