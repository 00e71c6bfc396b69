/* AP start-up: the real-mode page a SIPI points at (copied to 0x8000), then 32-bit protected
 * mode and long mode on the BSP's page tables and GDT (SDM 8.4.4.1, 9.8.5). */

#define TRAMPOLINE_BASE 0x8000
#define AT(label) (TRAMPOLINE_BASE + (label) - ap_trampoline)
#define CR0_PE 1
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define AP_CODE32 0x08
#define AP_DATA32 0x10

/* Position-independent within itself: smp_start_aps() copies [ap_trampoline,
 * ap_trampoline_end) to TRAMPOLINE_BASE, and the SIPI starts it at CS 0x0800, IP 0. */
        .text
        .code16
        .globl ap_trampoline, ap_trampoline_end
ap_trampoline:
        cli
        cld
        xorw %ax, %ax
        movw %ax, %ds
        lgdtl AT(ap_gdt_pointer)
        movl %cr0, %eax
        orl $CR0_PE, %eax
        movl %eax, %cr0
        ljmpl $AP_CODE32, $ap_start32
        .align 4
ap_gdt_pointer:
        .word ap_gdt_end - ap_gdt - 1
        .long ap_gdt
ap_trampoline_end:

/* From here on the code runs where it was linked: 32-bit addresses reach the image. */
        .code32
ap_start32:
        movl $AP_DATA32, %eax
        movl %eax, %ds
        movl %eax, %es
        movl %eax, %ss
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
        ljmp $KERNEL_CS, $ap_start64

        .code64
ap_start64:
        movl $KERNEL_DS, %eax
        movl %eax, %ds
        movl %eax, %es
        movl %eax, %ss
        movl %eax, %fs
        movl %eax, %gs
        movq ap_boot_stack(%rip), %rsp
        xorl %ebp, %ebp
        call ap_main
1:      cli
        hlt
        jmp 1b

/* Flat 32-bit code and data for the step through protected mode: the runtime's own GDT has
 * only a 64-bit code segment. */
        .section .rodata, "a"
        .align 8
ap_gdt:
        .quad 0
        .quad 0x00CF9A000000FFFF /* 0x08 code, 32-bit */
        .quad 0x00CF92000000FFFF /* 0x10 data */
ap_gdt_end:

        .section .note.GNU-stack, "", @progbits
