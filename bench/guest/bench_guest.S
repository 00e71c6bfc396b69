/* A minimal Multiboot guest for benchmarks, in 32-bit protected mode and nothing else.
 *
 * Its very first instruction writes '!' to COM1, so the time from starting the VMM to
 * that byte is the VMM's start-up time. Then its command line (the last word) picks:
 *   pio=N     N writes to port 0xe0 (pc-testdev: an exit to the VMM each), then exit
 *   touch=M   write one byte in each 4 KiB page of M MiB above 2 MiB, print "ready",
 *             then spin until the VMM is killed (for measuring resident memory; a HLT
 *             would end the VM, as nothing can wake it)
 *   (nothing) exit at once
 * Exit is a write of 0 to the debug-exit port 0xf4: kagami and QEMU exit with status 1.
 */
	.set MB_MAGIC, 0x1BADB002
	.set MB_FLAGS, 0x00000003	/* page-aligned modules, memory info */
	.set COM1, 0x3f8

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl _start
_start:
	mov $COM1, %dx
	mov $'!', %al
	out %al, %dx

	xor %esi, %esi			/* esi = command line, or 0 */
	testl $4, (%ebx)		/* MULTIBOOT_INFO_CMDLINE */
	jz run_mode
	mov 16(%ebx), %esi
	mov %esi, %edi			/* edi = start of the last word */
1:	movb (%esi), %al
	test %al, %al
	jz 2f
	inc %esi
	cmp $' ', %al
	jne 1b
	mov %esi, %edi
	jmp 1b
2:	mov %edi, %esi

run_mode:
	test %esi, %esi
	jz done
	movb (%esi), %bl		/* 'p' or 't' */
	/* skip to after '=' and parse a decimal number into ecx */
3:	movb (%esi), %al
	test %al, %al
	jz done
	inc %esi
	cmp $'=', %al
	jne 3b
	xor %ecx, %ecx
4:	movzbl (%esi), %eax
	sub $'0', %eax
	cmp $9, %eax
	ja 5f
	imul $10, %ecx, %ecx
	add %eax, %ecx
	inc %esi
	jmp 4b
5:	cmp $'p', %bl
	je pio
	cmp $'t', %bl
	je touch
	jmp done

pio:	test %ecx, %ecx
	jz done
	mov $0xe0, %dx
6:	out %eax, %dx
	dec %ecx
	jnz 6b
	jmp done

touch:	shl $8, %ecx			/* MiB -> 4 KiB pages */
	mov $0x200000, %edi
7:	test %ecx, %ecx
	jz 8f
	movb $1, (%edi)
	add $4096, %edi
	dec %ecx
	jmp 7b
8:	mov $COM1, %dx
	mov $ready, %esi
9:	lodsb
	test %al, %al
	jz 10f
	out %al, %dx
	jmp 9b
10:	pause
	jmp 10b

done:	xor %eax, %eax
	out %eax, $0xf4
	cli
	hlt

	.section .rodata
ready:	.asciz "ready\n"
