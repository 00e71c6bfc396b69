// Multiboot v1 loader: puts a kernel, its modules and the boot information into guest RAM.
//
// It accepts what `qemu-system-x86_64 -kernel` accepts (QEMU hw/i386/multiboot.c): a multiboot
// header starting within the first 8144 bytes (8192 minus the 48-byte full header, as QEMU
// scans), then either the "a.out kludge" address fields (header flag bit 16) or a 32-bit ELF
// executable loaded at its program headers' physical addresses. kagami extension: a 64-bit
// x86-64 ELF executable is accepted too (QEMU refuses it) when every loaded byte and the entry
// point lie below 4 GiB; the guest is still entered in 32-bit protected mode.
//
// Compared with QEMU, kagami refuses at load time what QEMU would load and then crash on: segments
// outside RAM or overlapping the legacy holes, and an entry point outside the loaded image.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "boot_error.hpp"
#include "kagami/guest_memory.hpp"

namespace kagami {

// A multiboot module (QEMU: one comma-separated entry of -initrd). The loader passes `cmdline`
// to the kernel as the module's string; QEMU passes the file name followed by any arguments.
struct BootModule {
  std::string cmdline;
  std::vector<uint8_t> data;
};

// What the vCPU needs to enter the kernel: EIP = entry, EAX = kMultibootBootMagic,
// EBX = info_addr, 32-bit protected mode with flat 4 GiB segments and paging off.
struct MultibootEntry {
  uint32_t entry;
  uint32_t info_addr;
};

inline constexpr uint32_t kMultibootHeaderMagic = 0x1BADB002;
inline constexpr uint32_t kMultibootBootMagic = 0x2BADB002;

// True when the image has a multiboot header (magic and checksum) where the loader looks for it.
bool is_multiboot(std::span<const uint8_t> image);

// Loads the kernel image, places the multiboot information (memory sizes, memory map, command
// line, modules, boot loader name "kagami") in the first page after the kernel's highest loaded
// byte (or at 1 MiB when that is below 1 MiB and there is no room there), each module on its own
// page after it, and returns where to enter.
//
// The kernel's command line is "<image_name> <cmdline>", as QEMU and GRUB pass it.
//
// Throws BootError("<image_name>: <reason>") for any malformed image, segment outside guest RAM,
// or anything that does not fit; everything is checked before guest RAM is written.
MultibootEntry load_multiboot(GuestMemory& memory, const std::string& image_name,
                              std::span<const uint8_t> image, const std::string& cmdline,
                              std::span<const BootModule> modules);

}  // namespace kagami
