// Layouts of the Linux x86 boot protocol: the bzImage setup header and the zero page.
//
// Both follow Linux's arch/x86/include/uapi/asm/bootparam.h and Documentation/x86/boot.rst and
// zero-page.rst: packed little-endian structures at fixed offsets, checked below. Only the fields
// kagami reads or writes are named; the rest is padding the loader leaves zero.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kagami::linux_boot {

// The setup header: offset 0x1f1 of the bzImage file, and of the zero page. Fields up to
// kernel_info_offset (protocol 2.15); each comment gives the file offset and the protocol version
// that introduced the field.
struct [[gnu::packed]] SetupHeader {
  uint8_t setup_sects;             // 0x1f1 ALL: 512-byte setup sectors after the boot sector
  uint16_t root_flags;             // 0x1f2 ALL
  uint32_t syssize;                // 0x1f4 2.04: protected-mode code size in 16-byte units
  uint16_t ram_size;               // 0x1f8 ALL (obsolete)
  uint16_t vid_mode;               // 0x1fa ALL
  uint16_t root_dev;               // 0x1fc ALL
  uint16_t boot_flag;              // 0x1fe ALL: 0xaa55
  uint16_t jump;                   // 0x200 2.00: jmp rel8; its byte 0x201 gives the header end
  uint32_t header;                 // 0x202 2.00: "HdrS"
  uint16_t version;                // 0x206 2.00: boot protocol version, major << 8 | minor
  uint32_t realmode_swtch;         // 0x208 2.00
  uint16_t start_sys_seg;          // 0x20c 2.00 (obsolete)
  uint16_t kernel_version;         // 0x20e 2.00
  uint8_t type_of_loader;          // 0x210 2.00: written by the loader
  uint8_t loadflags;               // 0x211 2.00
  uint16_t setup_move_size;        // 0x212 2.00
  uint32_t code32_start;           // 0x214 2.00
  uint32_t ramdisk_image;          // 0x218 2.00: written by the loader
  uint32_t ramdisk_size;           // 0x21c 2.00: written by the loader
  uint32_t bootsect_kludge;        // 0x220 2.00 (obsolete)
  uint16_t heap_end_ptr;           // 0x224 2.01
  uint8_t ext_loader_ver;          // 0x226 2.02
  uint8_t ext_loader_type;         // 0x227 2.02
  uint32_t cmd_line_ptr;           // 0x228 2.02: written by the loader
  uint32_t initrd_addr_max;        // 0x22c 2.03: highest address the initrd may occupy
  uint32_t kernel_alignment;       // 0x230 2.05
  uint8_t relocatable_kernel;      // 0x234 2.05
  uint8_t min_alignment;           // 0x235 2.10
  uint16_t xloadflags;             // 0x236 2.12
  uint32_t cmdline_size;           // 0x238 2.06: longest command line, without its NUL
  uint32_t hardware_subarch;       // 0x23c 2.07
  uint64_t hardware_subarch_data;  // 0x240 2.07
  uint32_t payload_offset;         // 0x248 2.08
  uint32_t payload_length;         // 0x24c 2.08
  uint64_t setup_data;             // 0x250 2.09: list of struct setup_data
  uint64_t pref_address;           // 0x258 2.10: preferred load address
  uint32_t init_size;              // 0x260 2.10: memory the kernel needs from its load address
  uint32_t handover_offset;        // 0x264 2.11: EFI handover entry
  uint32_t kernel_info_offset;     // 0x268 2.15
};

inline constexpr uint64_t kSetupHeaderOffset = 0x1f1;
inline constexpr uint64_t kSetupHeaderEnd = kSetupHeaderOffset + sizeof(SetupHeader);  // 0x26c
// The header's length in the file: it ends where the jump at 0x200 lands, 0x202 + byte 0x201.
inline constexpr uint64_t kJumpTargetBase = 0x202;
inline constexpr uint64_t kJumpDisplacementOffset = 0x201;

inline constexpr uint16_t kBootFlag = 0xaa55;
inline constexpr uint32_t kHeaderMagic = 0x53726448;  // "HdrS"
inline constexpr uint64_t kSectorSize = 512;
inline constexpr uint8_t kDefaultSetupSects = 4;  // setup_sects 0 means 4

inline constexpr uint8_t kLoadedHigh = 1u << 0;  // loadflags: protected-mode code at 0x100000+
inline constexpr uint8_t kCanUseHeap = 1u << 7;  // loadflags: heap_end_ptr is valid

inline constexpr uint16_t kXlfKernel64 = 1u << 0;  // xloadflags: 64-bit entry at +0x200

inline constexpr uint8_t kTypeOfLoaderUndefined = 0xff;
inline constexpr uint64_t kEntry64Offset = 0x200;  // startup_64 from the load address

static_assert(offsetof(SetupHeader, syssize) == 0x1f4 - kSetupHeaderOffset);
static_assert(offsetof(SetupHeader, boot_flag) == 0x1fe - kSetupHeaderOffset);
static_assert(offsetof(SetupHeader, header) == 0x202 - kSetupHeaderOffset);
static_assert(offsetof(SetupHeader, type_of_loader) == 0x210 - kSetupHeaderOffset);
static_assert(offsetof(SetupHeader, code32_start) == 0x214 - kSetupHeaderOffset);
static_assert(offsetof(SetupHeader, cmd_line_ptr) == 0x228 - kSetupHeaderOffset);
static_assert(offsetof(SetupHeader, xloadflags) == 0x236 - kSetupHeaderOffset);
static_assert(offsetof(SetupHeader, setup_data) == 0x250 - kSetupHeaderOffset);
static_assert(offsetof(SetupHeader, pref_address) == 0x258 - kSetupHeaderOffset);
static_assert(offsetof(SetupHeader, init_size) == 0x260 - kSetupHeaderOffset);
static_assert(kSetupHeaderEnd == 0x26c);

// One entry of the zero page's E820 table (struct boot_e820_entry).
struct [[gnu::packed]] BootE820Entry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
};

inline constexpr size_t kZeroPageE820Entries = 128;  // E820_MAX_ENTRIES_ZEROPAGE

// struct boot_params, the "zero page": one 4 KiB page the kernel reads at entry (RSI).
struct [[gnu::packed]] BootParams {
  uint8_t screen_apm_tboot_ist[0x70];  // 0x000 screen_info, apm_bios_info, tboot_addr, ist_info
  uint64_t acpi_rsdp_addr;             // 0x070 (read by Linux since 4.20, protocol 2.14)
  uint8_t pad_078[0xc0 - 0x78];        // 0x078 hd0/hd1_info, sys_desc_table, olpc_ofw_header
  uint32_t ext_ramdisk_image;          // 0x0c0 bits 63:32 of ramdisk_image
  uint32_t ext_ramdisk_size;           // 0x0c4 bits 63:32 of ramdisk_size
  uint32_t ext_cmd_line_ptr;           // 0x0c8 bits 63:32 of cmd_line_ptr
  uint8_t pad_0cc[0x1e8 - 0xcc];       // 0x0cc cc_blob_address, edid_info, efi_info, ...
  uint8_t e820_entries;                // 0x1e8
  uint8_t pad_1e9[0x1f1 - 0x1e9];      // 0x1e9 edd counts, kbd_status, secure_boot, sentinel
  SetupHeader hdr;                     // 0x1f1
  uint8_t pad_26c[0x2d0 - 0x26c];      // 0x26c up to edd_mbr_sig_buffer
  BootE820Entry e820_table[kZeroPageE820Entries];  // 0x2d0
  uint8_t pad_cd0[0x1000 - 0xcd0];                 // 0xcd0 eddbuf and padding
};

static_assert(offsetof(BootParams, acpi_rsdp_addr) == 0x070);
static_assert(offsetof(BootParams, ext_ramdisk_image) == 0x0c0);
static_assert(offsetof(BootParams, ext_cmd_line_ptr) == 0x0c8);
static_assert(offsetof(BootParams, e820_entries) == 0x1e8);
static_assert(offsetof(BootParams, hdr) == kSetupHeaderOffset);
static_assert(offsetof(BootParams, e820_table) == 0x2d0);
static_assert(sizeof(BootE820Entry) == 20);
static_assert(sizeof(BootParams) == 0x1000);

}  // namespace kagami::linux_boot
