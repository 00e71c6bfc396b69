// Linux x86 boot protocol loader: a bzImage, its initrd and command line, entered in 64-bit mode.
//
// What it accepts: a bzImage (boot sector signature 0xaa55 at 0x1fe, "HdrS" at 0x202) of boot
// protocol 2.12 or later whose xloadflags has XLF_KERNEL_64 (a 64-bit entry point at load address
// + 0x200), with LOADED_HIGH set. The kernel is entered there as Documentation/x86/boot.rst's
// "64-bit boot protocol" says: long mode, paging on with an identity map, a GDT with __BOOT_CS
// (0x10) and __BOOT_DS (0x18), interrupts off, RSI = the zero page. The real-mode setup code is
// never run, so nothing in the zero page comes from a BIOS: no video or EDD information.
//
// Where things go in guest-physical memory (all below the EBDA at 0x9fc00):
//   0x1000  GDT: null, null, __BOOT_CS = 0x10 (64-bit code), __BOOT_DS = 0x18 (flat data)
//   0x2000  a one-page boot stack, RSP = 0x3000 (the protocol promises no stack; a valid one
//           costs nothing and covers entry code that pushes before it sets its own)
//   0x7000  the zero page (struct boot_params)
//   0x9000  page tables identity-mapping 0..4 GiB with 2 MiB pages (no 1 GiB pages: the guest CPU
//           may lack pdpe1gb): PML4 at 0x9000, PDPT at 0xa000, 4 page directories at 0xb000..0xf000
//   0x20000 the command line, NUL-terminated (64 KiB reserved, and never more than cmdline_size)
// The protected-mode kernel (the file after the setup sectors, syssize * 16 bytes) goes at
// pref_address when [pref_address, + init_size) is RAM. Otherwise a relocatable kernel goes at the
// lowest kernel_alignment-aligned address at or above pref_address (and 1 MiB) where
// init_size bytes of RAM below 4 GiB are free. Lower addresses would not help: the decompressor
// never runs below LOAD_PHYSICAL_ADDR, which is pref_address (compressed/head_64.S). A kernel
// that is not relocatable is only ever loaded at pref_address. The initrd goes on a page
// boundary, as high as possible below min(initrd_addr_max + 1, end of RAM below 4 GiB), at or
// above 1 MiB and outside [kernel, kernel + init_size), as QEMU places it. Kernel and initrd stay
// below 4 GiB, inside the identity map.
//
// What the zero page gets: the image's setup header (0x1f1 up to 0x202 + the byte at 0x201, the
// protocol's header length), then type_of_loader 0xff, CAN_USE_HEAP cleared (no real-mode heap),
// code32_start = the load address, cmd_line_ptr, ramdisk_image and ramdisk_size (and their ext_
// high halves), setup_data 0 and hardware_subarch 0 (a PC) whatever the file says, the E820 table,
// and acpi_rsdp_addr when the protocol is 2.14 or later.
//
// What it refuses, each as BootError("<image_name>: <reason>") before guest RAM is written: not
// a bzImage; protocol older than 2.12; no 64-bit entry point; LOADED_HIGH clear; a file shorter
// than its setup sectors or its syssize; syssize 0; init_size smaller than the kernel; a
// relocatable kernel whose kernel_alignment is not a power of two; a kernel that must load below
// 1 MiB; a kernel, initrd or command line that does not fit; a command line longer than
// cmdline_size or with a NUL byte; a memory map of more than 128 entries.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "boot_error.hpp"
#include "e820.hpp"
#include "kagami/guest_memory.hpp"

namespace kagami {

// The fixed guest-physical addresses described above.
inline constexpr uint64_t kLinuxGdtAddr = 0x1000;
inline constexpr uint64_t kLinuxStackTop = 0x3000;
inline constexpr uint64_t kLinuxZeroPageAddr = 0x7000;
inline constexpr uint64_t kLinuxPageTablesAddr = 0x9000;
inline constexpr uint64_t kLinuxPageTablesSize = 6 * 0x1000;  // PML4, PDPT, 4 page directories
inline constexpr uint64_t kLinuxCmdlineAddr = 0x20000;
inline constexpr uint64_t kLinuxCmdlineAreaSize = 0x10000;       // including the NUL
inline constexpr uint64_t kLinuxIdentityMapEnd = 0x1'0000'0000;  // 4 GiB

// Everything a vCPU needs to enter the kernel (see linux_boot_cpu_state.hpp), and where the loader
// put things.
struct LinuxEntry {
  uint64_t entry;            // RIP: load address + 0x200
  uint64_t zero_page_addr;   // RSI
  uint64_t stack_top;        // RSP
  uint64_t page_table_root;  // CR3
  uint64_t gdt_base;
  uint16_t gdt_limit;
  uint64_t kernel_addr;  // where the protected-mode kernel was loaded
  uint64_t kernel_size;  // init_size: the kernel's footprint from kernel_addr
  uint64_t cmdline_addr;
  uint64_t initrd_addr;  // 0 (and size 0) without an initrd
  uint64_t initrd_size;
};

// True when the image has a boot sector signature and the "HdrS" setup header magic: anything
// else is not for this loader. load_linux says what is wrong with an image this accepts.
bool is_bzimage(std::span<const uint8_t> image);

// Loads the bzImage `image`, the initrd (may be empty) and the command line into guest RAM as
// described above, with `map` as the E820 table (pc_memory_map of the same memory), and
// `acpi_rsdp_addr` (0: none) passed to the kernel. Throws BootError("<image_name>: <reason>");
// the reason names the initrd as `initrd_name` when it is the initrd that does not fit.
LinuxEntry load_linux(GuestMemory& memory, const std::string& image_name,
                      std::span<const uint8_t> image, std::span<const uint8_t> initrd,
                      const std::string& cmdline, std::span<const E820Entry> map,
                      uint64_t acpi_rsdp_addr, const std::string& initrd_name = "the initrd");

}  // namespace kagami
