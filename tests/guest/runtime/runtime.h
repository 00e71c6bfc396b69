/* The freestanding runtime every test guest links against: console, exit, traps, CPL3, boot info.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Each guest defines this; the runtime calls it in ring 0, long mode, after setting up the
 * console, the IDT and the boot information, then prints the summary and exits. */
void guest_main(void);

/* --- console (COM1, polled) ------------------------------------------------------------- */
void console_putc(char c);
int printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char* fmt, va_list ap);
int snprintf(char* buf, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char* buf, size_t size, const char* fmt, va_list ap);

/* --- exit through the debug-exit port (0xf4): the VMM exits with status (code << 1) | 1 ---- */
#define EXIT_UNEXPECTED_TRAP 2 /* an exception nobody expected (status 5) */
#define EXIT_RUNTIME_ERROR 3   /* the runtime itself could not go on (status 7) */
void exit(int code) __attribute__((noreturn));

/* --- results ---------------------------------------------------------------------------- */
/* Prints "PASS: name" or "FAIL: name" and counts it. */
void report(const char* name, bool ok);
/* Like report(), the name built from a printf format. */
void reportf(bool ok, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "SUMMARY: N passed, M failed"; exits 0 when M == 0 and N > 0, else 1. */
void report_summary_and_exit(void) __attribute__((noreturn));

/* --- traps ------------------------------------------------------------------------------ */
/* The registers an exception stub saves, then what the CPU pushed. Handlers may change any
 * field (rip above all) to decide where and how the interrupted code resumes. */
struct trap_frame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
  uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
  uint64_t vector, error_code; /* error_code is 0 for vectors without one */
  uint64_t rip, cs, rflags, rsp, ss;
};
/* Returns true when it handled the trap (execution resumes at frame->rip), false to fall back
 * to the default: report "unexpected exception" and exit. */
typedef bool (*trap_handler)(struct trap_frame* frame);
/* Installs (or with NULL removes) the handler for one vector. */
void set_trap_handler(uint8_t vector, trap_handler handler);

/* --- ring 3 ----------------------------------------------------------------------------- */
/* Runs fn(arg) at CPL3 on the runtime's user stack and returns its value in ring 0. Ring 3 may
 * use every I/O port (the TSS I/O bitmap allows them), so it may print. All memory is mapped
 * user-accessible. Not reentrant. */
uint64_t run_at_cpl3(uint64_t (*fn)(void*), void* arg);
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS 0x1b
#define USER_CS 0x23

/* --- boot information (copied out of the multiboot info before anything else runs) ------ */
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MEMORY_RAM 1u
struct memory_region {
  uint64_t base, length;
  uint32_t type;
};
struct boot_info {
  uint32_t magic, flags;
  uint32_t mem_lower_kib, mem_upper_kib; /* valid when flags bit 0 is set */
  const char* cmdline;                   /* "" when the loader gave none */
  size_t region_count;
  const struct memory_region* regions;
};
const struct boot_info* boot_info(void);
/* First whitespace-separated "key=value" word of the command line: copies value into buf. */
bool cmdline_value(const char* key, char* buf, size_t size);
bool cmdline_u64(const char* key, uint64_t* value);
/* End of the highest RAM region of the memory map. */
uint64_t ram_top(void);

/* --- memory layout ---------------------------------------------------------------------- */
/* The guest image as loaded, including its stacks and page tables: [start, end). */
uint64_t image_start(void);
uint64_t image_end(void);
/* Everything below this address is identity-mapped with 2 MiB pages. */
uint64_t mapped_limit(void);
/* The page-directory entry that maps the 2 MiB page holding addr (addr < mapped_limit()). */
uint64_t* pde_for(uint64_t addr);
#define PTE_PRESENT 0x1ull
#define PTE_WRITE 0x2ull
#define PTE_USER 0x4ull
#define PTE_LARGE 0x80ull

/* --- freestanding C library bits -------------------------------------------------------- */
void* memset(void* dst, int c, size_t n);
void* memcpy(void* dst, const void* src, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, size_t n);
bool parse_u64(const char* s, uint64_t* value); /* decimal, or hex with 0x */

/* Runtime internals, called once from the boot path. */
void console_init(void);
void cpu_init(void);
void boot_info_init(uint32_t magic, uint32_t info_addr);
void paging_init(void);
