/* Exception entry stubs, the common trap path, and the ring-3 round trip (run_at_cpl3). */

#define KERNEL_DS 0x10
#define USER_DS 0x1b
#define USER_CS 0x23
#define TSS_RSP0 4
/* IF clear, IOPL 0: ring 3 gets its ports from the TSS I/O bitmap instead, because the build
 * host's /dev/kvm enters ring 3 with IOPL 0 (and IF 1) whatever iretq pops. */
#define USER_RFLAGS 0x0002

        .text
        .code64

/* One 16-byte stub per vector, so the stub for vector v is at trap_stubs + 16 * v. Vectors
 * whose exceptions carry no error code push a zero, keeping the frame layout uniform. */
        .align 16
        .globl trap_stubs
trap_stubs:
        .set vector, 0
        .rept 256
        .align 16
        .if !(vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || vector == 29 || vector == 30)
        pushq $0
        .endif
        pushq $vector
        jmp trap_common
        .set vector, vector + 1
        .endr

/* Saves the general registers as struct trap_frame, lets C decide, then resumes at whatever
 * the frame says (the handler may have moved rip past the faulting instruction). */
trap_common:
        pushq %rax
        pushq %rbx
        pushq %rcx
        pushq %rdx
        pushq %rsi
        pushq %rdi
        pushq %rbp
        pushq %r8
        pushq %r9
        pushq %r10
        pushq %r11
        pushq %r12
        pushq %r13
        pushq %r14
        pushq %r15
        cld
        movq %rsp, %rdi
        call trap_dispatch
        popq %r15
        popq %r14
        popq %r13
        popq %r12
        popq %r11
        popq %r10
        popq %r9
        popq %r8
        popq %rbp
        popq %rdi
        popq %rsi
        popq %rdx
        popq %rcx
        popq %rbx
        popq %rax
        addq $16, %rsp
        iretq

/* uint64_t run_at_cpl3(uint64_t (*fn)(void*), void* arg)
 * Saves the callee-saved registers, points TSS.RSP0 just below them (traps from ring 3 land
 * there) and irets to cpl3_trampoline. fn's value comes back through a ud2 at cpl3_exit,
 * which trap_dispatch() recognises and turns into cpl3_finish().
 * Why a fault and not an "int $0x80" gate or syscall: on the build host's /dev/kvm, INT n at
 * CPL3 raises #UD instead of going through the DPL-3 gate, and syscall at CPL3 jumps to LSTAR
 * but stays at CPL3 (CS 0x23; the first ring-0 instruction then takes #GP). Exceptions from
 * ring 3 are delivered correctly everywhere. */
        .globl run_at_cpl3
run_at_cpl3:
        pushq %rbx
        pushq %rbp
        pushq %r12
        pushq %r13
        pushq %r14
        pushq %r15
        movq %rsp, cpl3_saved_rsp(%rip)
        movq %rsp, %rax
        andq $-16, %rax
        movq %rax, kernel_tss + TSS_RSP0(%rip)
        pushq $USER_DS
        pushq $user_stack_top
        pushq $USER_RFLAGS
        pushq $USER_CS
        pushq $cpl3_trampoline
        iretq

cpl3_trampoline:
        movq %rdi, %rax
        movq %rsi, %rdi
        call *%rax
        movq %rax, %rdi
        .globl cpl3_exit
cpl3_exit:
        ud2

/* void cpl3_finish(uint64_t value), from trap_dispatch() in ring 0: drop the ring-3 context
 * and the trap frame, and return value from run_at_cpl3. */
        .globl cpl3_finish
cpl3_finish:
        movl $KERNEL_DS, %eax
        movl %eax, %ss
        movl %eax, %ds
        movl %eax, %es
        movq cpl3_saved_rsp(%rip), %rsp
        movq %rdi, %rax
        popq %r15
        popq %r14
        popq %r13
        popq %r12
        popq %rbp
        popq %rbx
        ret

        .section .bss, "aw", @nobits
        .align 8
cpl3_saved_rsp:
        .skip 8

        .section .note.GNU-stack, "", @progbits
