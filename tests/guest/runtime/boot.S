/* Multiboot v1 header and 32-bit entry: identity-mapped page tables, long mode, 64-bit start. */

#define MULTIBOOT_HEADER_MAGIC 0x1BADB002
#define MULTIBOOT_HEADER_FLAGS 0x00000003 /* page-aligned modules, memory information */

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10

#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)

/* Page-table entry bits: present, writable, user (every page is user-accessible so ring-3
 * tests can touch anything), 2 MiB page, and cache-disable for the device window. */
#define PTE_PWUS 0x7
#define PDE_LARGE 0x87
#define PDE_UNCACHED 0x18
#define DEVICE_WINDOW 0xFE000000 /* 0xfe000000..4 GiB: pc-testdev MMIO and unassigned probes */

/* Gigabytes the bss pool can map above 4 GiB (one 4 KiB page directory per GiB). */
#define HIGH_PD_PAGES 60

        .section .multiboot, "a"
        .align 4
        .long MULTIBOOT_HEADER_MAGIC
        .long MULTIBOOT_HEADER_FLAGS
        .long -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_HEADER_FLAGS)

/* The build host's /dev/kvm interprets ring-0 code at ~2M instructions/s, so the page tables
 * for the first 4 GiB are assembled into the image and this path is a dozen instructions. */
        .section .text.entry, "ax"
        .code32
        .globl _start
_start:
        cli
        cld
        movl %eax, boot_magic
        movl %ebx, boot_info_address
        movl $boot_pml4, %eax
        movl %eax, %cr3
        movl %cr4, %eax
        orl $CR4_PAE, %eax
        movl %eax, %cr4
        movl $MSR_EFER, %ecx
        rdmsr
        orl $EFER_LME, %eax
        wrmsr
        movl %cr0, %eax
        orl $(CR0_PG | CR0_WP), %eax
        movl %eax, %cr0
        lgdt gdt_pointer
        ljmp $KERNEL_CS, $start64

        .code64
start64:
        movl $KERNEL_DS, %eax
        movl %eax, %ds
        movl %eax, %es
        movl %eax, %ss
        movl %eax, %fs
        movl %eax, %gs
        movq $kernel_stack_top, %rsp
        xorl %ebp, %ebp
        call runtime_start
1:      cli
        hlt
        jmp 1b

        .section .data, "aw"
        .align 8
        .globl boot_magic, boot_info_address
boot_magic:
        .long 0
boot_info_address:
        .long 0

/* Null, kernel code/data, user data/code (the order sysret would want), then the 16-byte TSS
 * descriptor that cpu_init() fills in once the TSS address can be split into its fields. */
        .align 16
        .globl gdt, gdt_tss_descriptor, gdt_pointer
gdt:
        .quad 0
        .quad 0x00AF9A000000FFFF /* 0x08 kernel code, 64-bit */
        .quad 0x00CF92000000FFFF /* 0x10 kernel data */
        .quad 0x00CFF2000000FFFF /* 0x18 user data, DPL 3 */
        .quad 0x00AFFA000000FFFF /* 0x20 user code, 64-bit, DPL 3 */
gdt_tss_descriptor:
        .quad 0, 0               /* 0x28 TSS */
gdt_end:
        .align 8
        .word 0
gdt_pointer:                     /* 32-bit lgdt reads limit + 4 bytes, 64-bit lgdt 8 */
        .word gdt_end - gdt - 1
        .quad gdt

/* Identity map of the first 4 GiB with 2 MiB pages: one PML4, one PDPT, four page
 * directories. paging_init() adds directories for RAM above 4 GiB from the bss pool. */
        .section .data.page_tables, "aw"
        .align 4096
        .globl boot_pml4, boot_pdpt, boot_pd
boot_pml4:
        .quad boot_pdpt + PTE_PWUS
        .fill 511, 8, 0
boot_pdpt:
        .quad boot_pd + PTE_PWUS
        .quad boot_pd + 0x1000 + PTE_PWUS
        .quad boot_pd + 0x2000 + PTE_PWUS
        .quad boot_pd + 0x3000 + PTE_PWUS
        .fill 508, 8, 0
boot_pd:
        .set page, 0
        .rept 2048
        .quad page | PDE_LARGE | ((page >= DEVICE_WINDOW) & PDE_UNCACHED)
        .set page, page + 0x200000
        .endr

        .section .bss.page_tables, "aw", @nobits
        .align 4096
        .globl high_pd_pool, high_pd_pool_pages
high_pd_pool:
        .skip 4096 * HIGH_PD_PAGES

        .section .rodata, "a"
        .align 4
high_pd_pool_pages:
        .long HIGH_PD_PAGES

        .section .bss.stacks, "aw", @nobits
        .align 16
        .skip 65536
        .globl kernel_stack_top
kernel_stack_top:
        .skip 65536
        .globl user_stack_top
user_stack_top:

        .section .note.GNU-stack, "", @progbits
