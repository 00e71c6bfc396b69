// Linux loader against a real distribution kernel (Debian's vmlinuz), when one is on this host.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bzimage_builder.hpp"
#include "e820.hpp"
#include "guest_reader.hpp"
#include "image_file.hpp"
#include "linux_boot.hpp"

namespace kagami::test {
namespace {

namespace fs = std::filesystem;

bool is_debian_kernel_name(const std::string& name) {
  return name.rfind("vmlinuz-", 0) == 0 && name.size() > 6 &&
         name.compare(name.size() - 6, 6, "-amd64") == 0;
}

std::optional<fs::path> first_kernel_in(const fs::path& dir) {
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file(ec) && is_debian_kernel_name(e.path().filename().string()))
      return e.path();
  return std::nullopt;
}

// $KAGAMI_TEST_BZIMAGE, else /boot/vmlinuz-*-amd64, else the kernel package the nested host
// cache extracted (~/.cache/kagami/nested/<version>/boot/vmlinuz-<version>).
std::optional<fs::path> find_debian_kernel() {
  if (const char* path = std::getenv("KAGAMI_TEST_BZIMAGE")) return fs::path(path);
  if (auto found = first_kernel_in("/boot")) return found;
  const char* home = std::getenv("HOME");
  if (!home) return std::nullopt;
  std::error_code ec;
  for (const fs::directory_entry& e :
       fs::directory_iterator(fs::path(home) / ".cache/kagami/nested", ec))
    if (auto found = first_kernel_in(e.path() / "boot")) return found;
  return std::nullopt;
}

class DebianKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    std::optional<fs::path> path = find_debian_kernel();
    if (!path)
      GTEST_SKIP() << "no Debian kernel: neither $KAGAMI_TEST_BZIMAGE, /boot/vmlinuz-*-amd64 nor "
                      "~/.cache/kagami/nested/*/boot/vmlinuz-*-amd64 exists";
    name_ = path->string();
    image_ = read_image_file(name_, 256 * kMiB);
  }
  uint64_t header(size_t offset, int size) const {
    uint64_t value = 0;
    for (int i = 0; i < size; ++i) value |= uint64_t{image_[offset + i]} << (8 * i);
    return value;
  }
  std::string name_;
  std::vector<uint8_t> image_;
};

TEST_F(DebianKernel, IsA64BitBzImage) {
  EXPECT_TRUE(is_bzimage(image_)) << name_;
  EXPECT_GE(header(bz::kVersion, 2), 0x020cu);
  EXPECT_TRUE(header(bz::kXloadflags, 2) & bz::kXlfKernel64);
}

TEST_F(DebianKernel, LoadsAtPrefAddressWithInitrdAndCommandLine) {
  GuestMemory memory(512 * kMiB);
  std::vector<uint8_t> initrd = pattern(3 * kMiB + 17, 6);
  LinuxEntry entry = load_linux(memory, name_, image_, initrd, "console=ttyS0 panic=-1",
                                pc_memory_map(memory), 0xf0000);
  const uint64_t pref = header(bz::kPrefAddress, 8);
  EXPECT_EQ(entry.kernel_addr, pref);
  EXPECT_EQ(entry.entry, pref + 0x200);
  EXPECT_EQ(entry.kernel_size, header(bz::kInitSize, 4));

  uint64_t setup_sects = header(bz::kSetupSects, 1);
  const uint64_t kernel_offset = ((setup_sects ? setup_sects : 4) + 1) * 512;
  const uint64_t kernel_size = header(bz::kSyssize, 4) * 16;
  auto file = [&](uint64_t offset, uint64_t size) {
    return std::vector<uint8_t>(image_.begin() + offset, image_.begin() + offset + size);
  };
  EXPECT_EQ(guest_bytes(memory, pref, 0x1000), file(kernel_offset, 0x1000));
  EXPECT_EQ(guest_bytes(memory, pref + kernel_size - 0x1000, 0x1000),
            file(kernel_offset + kernel_size - 0x1000, 0x1000));

  EXPECT_EQ(entry.initrd_addr % 0x1000, 0u);
  EXPECT_LE(entry.initrd_addr + initrd.size() - 1, header(bz::kInitrdAddrMax, 4));
  EXPECT_GE(entry.initrd_addr, entry.kernel_addr + entry.kernel_size);
  EXPECT_EQ(guest_bytes(memory, entry.initrd_addr, initrd.size()), initrd);
  EXPECT_EQ(guest_string(memory, entry.cmdline_addr), "console=ttyS0 panic=-1");
  EXPECT_EQ(guest_le(memory, entry.zero_page_addr + bz::kVersion, 2), header(bz::kVersion, 2));
  EXPECT_EQ(guest_le(memory, entry.zero_page_addr + bz::kTypeOfLoader, 1), 0xffu);
  EXPECT_EQ(guest_le(memory, entry.zero_page_addr + bz::kAcpiRsdpAddr, 8), 0xf0000u);
}

TEST_F(DebianKernel, TooLittleRamIsRefusedWithTheReason) {
  GuestMemory memory(64 * kMiB);  // Debian's init_size alone is about 64 MiB from 16 MiB
  try {
    load_linux(memory, name_, image_, {}, "", pc_memory_map(memory), 0);
    FAIL() << "loaded into 64 MiB";
  } catch (const BootError& error) {
    std::string message = error.what();
    EXPECT_EQ(message.rfind(name_ + ": kernel does not fit in RAM", 0), 0u) << message;
  }
}

}  // namespace
}  // namespace kagami::test
