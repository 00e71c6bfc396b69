/* The 64-bit entry from boot.S: set up the runtime, run the guest, report, exit. */
#include "io.h"
#include "runtime.h"

#define DEBUG_EXIT_PORT 0xf4

extern uint32_t boot_magic, boot_info_address;

void runtime_start(void);

void runtime_start(void) {
  /* The multiboot information goes first: nothing may overwrite it before it is copied. */
  boot_info_init(boot_magic, boot_info_address);
  console_init();
  cpu_init();
  paging_init();
  guest_main();
  report_summary_and_exit();
}

void exit(int code) {
  outl(DEBUG_EXIT_PORT, (uint32_t)code);
  /* Only reached when no debug-exit device is present. */
  printf("exit(%d): the debug-exit port did not stop the machine; halting\n", code);
  for (;;) __asm__ volatile("cli; hlt");
}
