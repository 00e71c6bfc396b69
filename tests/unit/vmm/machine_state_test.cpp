// A machine's state saved on one Machine and loaded into a second (incoming) one, on a real
// hypervisor: registers, MSRs, LAPIC and devices arrive whole; a bad blob changes nothing.
#include <endian.h>
#include <gtest/gtest.h>
#include <libfdt.h>

#include <map>

#include "core/console.hpp"
#include "core/event_loop.hpp"
#include "core/machine.hpp"
#include "fdt_state.hpp"
#include "machine_runner.hpp"
#include "test_guest.hpp"

namespace kagami {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kMsrTsc = 0x10;
constexpr uint32_t kMsrSysenterCs = 0x174;

// mov $0x11111111,%ebx; mov $0x22222222,%esi; serial (port in %dx): LCR=0x83, DLL=3, LCR=3;
// wrmsr SYSENTER_CS=0x10; xor %ecx,%ecx; 1: inc %ecx; jmp 1b
const std::vector<uint8_t> kGuest = {
    0xBB, 0x11, 0x11, 0x11, 0x11, 0xBE, 0x22, 0x22, 0x22, 0x22,  // ebx, esi
    0x66, 0xBA, 0xFB, 0x03, 0xB0, 0x83, 0xEE,                    // LCR = 0x83 (DLAB)
    0x66, 0xBA, 0xF8, 0x03, 0xB0, 0x03, 0xEE,                    // DLL = 3
    0x66, 0xBA, 0xFB, 0x03, 0xB0, 0x03, 0xEE,                    // LCR = 3
    0xB9, 0x74, 0x01, 0x00, 0x00, 0xB8, 0x10, 0x00, 0x00, 0x00,  // ecx = MSR, eax = 0x10
    0x31, 0xD2, 0x0F, 0x30,                                      // edx = 0; wrmsr
    0x31, 0xC9, 0x41, 0xEB, 0xFD};                               // ecx = 0; 1: inc; jmp 1b

// Fields of a vCPU node compared byte for byte (the MSRs separately: the TSC moves on).
const char* const kVcpuFields[] = {
    "rax",      "rbx", "rcx",  "rdx",    "rsi",       "rdi",
    "rsp",      "rbp", "r8",   "r9",     "r10",       "r11",
    "r12",      "r13", "r14",  "r15",    "rip",       "rflags",
    "cs",       "ds",  "es",   "fs",     "gs",        "ss",
    "tr",       "ldt", "gdt",  "idt",    "cr0",       "cr2",
    "cr3",      "cr4", "cr8",  "efer",   "apic-base", "interrupt-bitmap",
    "xsave",    "fpu", "xcrs", "events", "mp-state",  "lapic",
    "debugregs"};

// Devices whose state is time: compared elsewhere (their own tests), not byte for byte here.
const char* const kTimedDevices[] = {"rtc@70", "pit@40", "acpi-pm"};

std::vector<uint8_t> field(const std::vector<uint8_t>& blob, const std::string& node,
                           const char* name) {
  FdtStateReader in(blob, kStateKind);
  auto n = in.node(node);
  return n->has(name) ? n->bytes(name, 1u << 20) : std::vector<uint8_t>{};
}

std::map<uint32_t, uint64_t> msrs(const std::vector<uint8_t>& blob, const std::string& node) {
  std::vector<uint8_t> bytes = field(blob, node, "msrs");
  std::map<uint32_t, uint64_t> out;
  for (size_t i = 0; i + 12 <= bytes.size(); i += 12) {
    uint32_t index;
    uint64_t value;
    std::memcpy(&index, &bytes[i], 4);
    std::memcpy(&value, &bytes[i + 4], 8);
    out[be32toh(index)] = be64toh(value);
  }
  return out;
}

// One device node of dump_state_text's output.
std::string device_text(const std::vector<uint8_t>& blob, const std::string& node) {
  std::string text = dump_state_text(blob);
  size_t start = text.find("        " + node + " {\n");
  if (start == std::string::npos) return "(missing)";
  size_t end = text.find("\n        };\n", start);
  return text.substr(start, end - start);
}

std::vector<std::string> device_nodes(const std::vector<uint8_t>& description) {
  FdtStateReader in(description, kMachineKind);
  std::string list = in.string("devices", 4096);
  std::vector<std::string> out;
  for (size_t pos = 0; pos <= list.size();) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    out.push_back(list.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

class MachineStateTest : public testing::Test {
 protected:
  void SetUp() override {
    hypervisor_ = test::open_test_hypervisor();
    if (!hypervisor_)
      GTEST_SKIP() << "SKIPPED: no /dev/kagami or /dev/kvm on this machine: machine tests need one";
  }

  MachineConfig config(bool incoming) {
    MachineConfig c;
    c.kernel_path = "test-guest";
    c.kernel = test::kludge_image(kGuest);
    c.memory = 16ull << 20;
    c.cpus = 2;  // the second waits for INIT/SIPI: its MP state migrates too
    c.irqchip = IrqchipMode::kAuto;
    c.testdev = true;
    c.incoming = incoming;
    return c;
  }

  // Runs the guest on a source machine until it spins, and returns its paused state (and its
  // low RAM in `ram`, when asked).
  std::vector<uint8_t> source_state(std::vector<uint8_t>* ram = nullptr) {
    Machine source(config(false), *hypervisor_, source_loop_, console_);
    test::MachineRunner runner(source);
    std::this_thread::sleep_for(200ms);
    source.pause();
    std::vector<uint8_t> blob = source.save_state();
    if (ram) {
      ram->resize(source.memory().size());
      EXPECT_TRUE(source.memory().read(0, *ram));
    }
    runner.stop();
    return blob;
  }

  void expect_same_vcpus(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
    for (const char* cpu : {"cpu@0", "cpu@1"}) {
      for (const char* name : kVcpuFields)
        EXPECT_EQ(field(a, cpu, name), field(b, cpu, name)) << cpu << "/" << name;
      std::map<uint32_t, uint64_t> ma = msrs(a, cpu), mb = msrs(b, cpu);
      ASSERT_EQ(ma.size(), mb.size()) << cpu;
      EXPECT_GE(mb[kMsrTsc], ma[kMsrTsc]) << cpu << ": the TSC went back";
      ma.erase(kMsrTsc);
      mb.erase(kMsrTsc);
      EXPECT_EQ(ma, mb) << cpu;
    }
  }

  void expect_same_devices(Machine& machine, const std::vector<uint8_t>& a,
                           const std::vector<uint8_t>& b) {
    for (const std::string& node : device_nodes(machine.describe())) {
      if (std::find(std::begin(kTimedDevices), std::end(kTimedDevices), node) !=
          std::end(kTimedDevices))
        continue;
      EXPECT_EQ(device_text(a, node), device_text(b, node)) << node;
    }
  }

  std::unique_ptr<Hypervisor> hypervisor_;
  EventLoop source_loop_;
  EventLoop destination_loop_;
  Console console_{SerialConfig{SerialConfig::Kind::kNone, {}}};
};

TEST_F(MachineStateTest, StateLoadsIntoAnIncomingMachineWhole) {
  std::vector<uint8_t> saved = source_state();
  EXPECT_EQ(field(saved, "cpu@0", "rbx"),
            (std::vector<uint8_t>{0, 0, 0, 0, 0x11, 0x11, 0x11, 0x11}));
  EXPECT_EQ(msrs(saved, "cpu@0")[kMsrSysenterCs], 0x10u);

  Machine destination(config(true), *hypervisor_, destination_loop_, console_);
  destination.load_state(saved);
  std::vector<uint8_t> loaded = destination.save_state();
  expect_same_vcpus(saved, loaded);
  expect_same_devices(destination, saved, loaded);
  EXPECT_NE(device_text(loaded, "serial@3f8").find("0x3"), std::string::npos);
}

TEST_F(MachineStateTest, TheGuestGoesOnWhereItStopped) {
  std::vector<uint8_t> ram;
  std::vector<uint8_t> saved = source_state(&ram);
  auto ecx = [](const std::vector<uint8_t>& blob) {
    return FdtStateReader(blob, kStateKind).node("cpu@0")->u64("rcx");
  };
  Machine destination(config(true), *hypervisor_, destination_loop_, console_);
  ASSERT_TRUE(destination.memory().write(0, ram));  // as the migration's RAM passes do
  destination.load_state(saved);
  test::MachineRunner runner(destination);
  std::this_thread::sleep_for(200ms);
  destination.pause();
  std::vector<uint8_t> later = destination.save_state();
  runner.stop();
  EXPECT_GT(ecx(later), ecx(saved)) << "the guest did not run on from the loaded state";
  EXPECT_EQ(field(later, "cpu@0", "rbx"), field(saved, "cpu@0", "rbx"));
  EXPECT_EQ(field(later, "cpu@0", "rsi"), field(saved, "cpu@0", "rsi"));
}

// The first property of a node deleted: a blob that is a valid FDT but wrong for the machine.
std::vector<uint8_t> without_first_field(std::vector<uint8_t> blob, const char* path) {
  int node = fdt_path_offset(blob.data(), path);
  int prop = fdt_first_property_offset(blob.data(), node);
  const char* name = nullptr;
  fdt_getprop_by_offset(blob.data(), prop, &name, nullptr);
  EXPECT_EQ(fdt_delprop(blob.data(), node, name), 0) << path;
  return blob;
}

// `value` as the field's new value (any size).
std::vector<uint8_t> with_field(const std::vector<uint8_t>& blob, const char* path,
                                const char* name, const std::vector<uint8_t>& value) {
  std::vector<uint8_t> out(blob.size() + value.size() + 256);
  EXPECT_EQ(fdt_open_into(blob.data(), out.data(), static_cast<int>(out.size())), 0);
  int node = fdt_path_offset(out.data(), path);
  EXPECT_EQ(fdt_setprop(out.data(), node, name, value.data(), static_cast<int>(value.size())), 0);
  EXPECT_EQ(fdt_pack(out.data()), 0);
  out.resize(fdt_totalsize(out.data()));
  return out;
}

TEST_F(MachineStateTest, VcpuFieldsAreCheckedBeforeAnyIsApplied) {
  std::vector<uint8_t> saved = source_state();
  Machine destination(config(true), *hypervisor_, destination_loop_, console_);
  auto refusal = [&](const std::vector<uint8_t>& blob) -> std::string {
    try {
      destination.load_state(blob);
    } catch (const StateError& e) {
      return e.what();
    }
    return "(loaded)";
  };
  std::vector<uint8_t> msr = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_NE(refusal(with_field(saved, "/cpu@1", "msrs", msr)).find("MSR 0xdeadbeef"),
            std::string::npos);
  msr.pop_back();
  EXPECT_NE(refusal(with_field(saved, "/cpu@1", "msrs", msr)).find("12-byte records"),
            std::string::npos);
  EXPECT_EQ(refusal(with_field(saved, "/cpu@1", "lapic", std::vector<uint8_t>(1023))),
            "/cpu@1/lapic: 1023 bytes, expected 1024");
  EXPECT_EQ(refusal(with_field(saved, "/cpu@0", "mp-state", {0, 0, 1, 0})),
            "/cpu@0/mp-state: 256 is above its maximum 10");
  EXPECT_NE(refusal(with_field(saved, "/vm", "cpus", {0, 0, 0, 3})).find("3 vCPUs"),
            std::string::npos);
}

TEST_F(MachineStateTest, ABadBlobIsRefusedAndChangesNothing) {
  std::vector<uint8_t> saved = source_state();
  Machine destination(config(true), *hypervisor_, destination_loop_, console_);
  const std::vector<uint8_t> before = destination.save_state();
  ASSERT_NE(device_text(before, "serial@3f8"), device_text(saved, "serial@3f8"));

  std::vector<uint8_t> truncated(saved.begin(), saved.end() - 100);
  std::vector<uint8_t> flipped = saved;
  flipped[9] ^= 0x40;  // the header's total size
  // fw-cfg loads after the vCPUs and most devices: those must be put back.
  for (const auto& bad :
       {truncated, flipped, without_first_field(saved, "/devices/fw-cfg@510"),
        without_first_field(saved, "/cpu@1"), without_first_field(saved, "/vm")}) {
    EXPECT_THROW(destination.load_state(bad), StateError);
    std::vector<uint8_t> after = destination.save_state();
    expect_same_vcpus(before, after);
    expect_same_devices(destination, before, after);
  }
}

TEST_F(MachineStateTest, StateOfAnotherSizeIsRefused) {
  std::vector<uint8_t> saved = source_state();
  MachineConfig bigger = config(true);
  bigger.memory = 32ull << 20;
  Machine destination(bigger, *hypervisor_, destination_loop_, console_);
  try {
    destination.load_state(saved);
    ADD_FAILURE() << "a state of 16 MiB loaded into a 32 MiB machine";
  } catch (const StateError& e) {
    EXPECT_NE(std::string(e.what()).find("memory-size"), std::string::npos) << e.what();
  }
}

TEST_F(MachineStateTest, DescriptionsOfTheSameConfigAreEqual) {
  Machine a(config(false), *hypervisor_, source_loop_, console_);
  Machine b(config(true), *hypervisor_, destination_loop_, console_);
  std::vector<uint8_t> description = a.describe();
  EXPECT_EQ(description, b.describe());
  std::string text = dump_state_text(description);
  EXPECT_NE(text.find("memory-size = /bits/ 64 <0x1000000>;"), std::string::npos) << text;
  EXPECT_NE(text.find("cpu@1 {"), std::string::npos) << text;
  EXPECT_NE(text.find("leaf-0 = <"), std::string::npos) << text;
  EXPECT_NE(text.find("serial@3f8"), std::string::npos) << text;
}

TEST_F(MachineStateTest, SavingARunningMachineIsRefused) {
  Machine source(config(false), *hypervisor_, source_loop_, console_);
  test::MachineRunner runner(source);
  std::this_thread::sleep_for(50ms);
  EXPECT_THROW(source.save_state(), StateError);
  EXPECT_THROW(source.load_state(std::vector<uint8_t>{}), StateError);
}

}  // namespace
}  // namespace kagami
