// SPDX-License-Identifier: GPL-2.0
/* irqchip_test: KVM_CREATE_IRQCHIP's PIC pair and IOAPIC, on /dev/kagami or /dev/kvm. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE 0x4000UL
#define CODE 0x1000
#define RESULTS 0x2000 /* where the guest stores what it read */
#define STACK 0x3000
#define IOAPIC_BASE 0xfec00000ULL
#define LAPIC_BASE 0xfee00000ULL
#define REDIR_MASKED (1ULL << 16)

static int failures;
static const char *dev;

static void check(int ok, const char *what, long long got) {
  if (ok) return;
  failures++;
  printf("FAIL: %s (got %#llx, errno %d: %s)\n", what, got, errno, strerror(errno));
}

/*
 * Real mode at CODE, DS based at the IOAPIC, FS at the LAPIC (KVM_SET_SREGS). Phase 1 programs
 * IOAPIC entry 2 and the ID through IOREGSEL/IOWIN and reads back version, a missing register
 * and offset 0x40 (no EOI register in version 0x11); initialises both PICs (vectors 0x20 and
 * 0x28), reads IMR, ELCR and ISR; stores all that at RESULTS and exits with OUT 0x10. Phase 2
 * enables the LAPIC, unmasks IOAPIC pin 5 (edge, vector 0x45, APIC ID 0), exits with OUT 0x13
 * for userspace to raise GSI 1 and 5, unmasks IRQ 1 on the PIC and waits with interrupts on:
 * each handler reports its vector with OUT 0x12 and EOIs; OUT 0x11 ends the phase. Phase 3
 * makes pin 6 level-triggered (vector 0x46) and exits with OUT 0x14 for userspace to raise GSI 6;
 * its handler reports with OUT 0x12 before its LAPIC EOI; OUT 0x15 ends the phase. Phase 4 polls
 * the master (OCW3) twice with IRQ 3 pending and interrupts off, EOIs, reads ISR; OUT 0x16.
 * Phase 5 writes pseudo-random values to every register, interrupts off and IOAPIC entries
 * masked (bad input must be harmless); OUT 0x17. Phase 6 initialises the master again with only
 * IRQ 4 unmasked, exits with OUT 0x18 (userspace starts a thread that raises GSI 4 200 ms later),
 * then STI; HLT: the PIC must wake the halted vCPU, whose handler reports 0x24; OUT 0x19.
 * Phase 7 puts the master in automatic EOI mode and halts again after OUT 0x1a, for userspace to
 * set IRQ 4 in IRR with KVM_SET_IRQCHIP from a thread; OUT 0x1b.
 * (Assembled with GNU as, .code16; the listing is beside the bytes.)
 */
static const uint8_t program[] = {
    0x66, 0xb8, 0x14, 0x00, 0x00, 0x00,             /* 1000: mov eax,0x14 */
    0x66, 0xa3, 0x00, 0x00,                         /* 1006: mov ds:0x0,eax */
    0x66, 0xb8, 0x35, 0xd9, 0x01, 0x00,             /* 100a: mov eax,0x1d935 */
    0x66, 0xa3, 0x10, 0x00,                         /* 1010: mov ds:0x10,eax */
    0x66, 0xa1, 0x10, 0x00,                         /* 1014: mov eax,ds:0x10 */
    0x2e, 0x66, 0xa3, 0x00, 0x20,                   /* 1018: mov cs:0x2000,eax */
    0x66, 0xb8, 0x15, 0x00, 0x00, 0x00,             /* 101d: mov eax,0x15 */
    0x66, 0xa3, 0x00, 0x00,                         /* 1023: mov ds:0x0,eax */
    0x66, 0xb8, 0x00, 0x00, 0x00, 0x5a,             /* 1027: mov eax,0x5a000000 */
    0x66, 0xa3, 0x10, 0x00,                         /* 102d: mov ds:0x10,eax */
    0x66, 0xa1, 0x10, 0x00,                         /* 1031: mov eax,ds:0x10 */
    0x2e, 0x66, 0xa3, 0x04, 0x20,                   /* 1035: mov cs:0x2004,eax */
    0x66, 0xb8, 0x01, 0x00, 0x00, 0x00,             /* 103a: mov eax,0x1 */
    0x66, 0xa3, 0x00, 0x00,                         /* 1040: mov ds:0x0,eax */
    0x66, 0xa1, 0x10, 0x00,                         /* 1044: mov eax,ds:0x10 */
    0x2e, 0x66, 0xa3, 0x08, 0x20,                   /* 1048: mov cs:0x2008,eax */
    0x66, 0x31, 0xc0,                               /* 104d: xor eax,eax */
    0x66, 0xa3, 0x00, 0x00,                         /* 1050: mov ds:0x0,eax */
    0x66, 0xb8, 0x00, 0x00, 0x00, 0xff,             /* 1054: mov eax,0xff000000 */
    0x66, 0xa3, 0x10, 0x00,                         /* 105a: mov ds:0x10,eax */
    0x66, 0xa1, 0x10, 0x00,                         /* 105e: mov eax,ds:0x10 */
    0x2e, 0x66, 0xa3, 0x0c, 0x20,                   /* 1062: mov cs:0x200c,eax */
    0x66, 0xa1, 0x00, 0x00,                         /* 1067: mov eax,ds:0x0 */
    0x2e, 0x66, 0xa3, 0x10, 0x20,                   /* 106b: mov cs:0x2010,eax */
    0x66, 0xb8, 0x03, 0x00, 0x00, 0x00,             /* 1070: mov eax,0x3 */
    0x66, 0xa3, 0x00, 0x00,                         /* 1076: mov ds:0x0,eax */
    0x66, 0xa1, 0x10, 0x00,                         /* 107a: mov eax,ds:0x10 */
    0x2e, 0x66, 0xa3, 0x14, 0x20,                   /* 107e: mov cs:0x2014,eax */
    0x66, 0xa1, 0x40, 0x00,                         /* 1083: mov eax,ds:0x40 */
    0x2e, 0x66, 0xa3, 0x18, 0x20,                   /* 1087: mov cs:0x2018,eax */
    0xb0, 0x11,                                     /* 108c: mov al,0x11 */
    0xe6, 0x20,                                     /* 108e: out 0x20,al */
    0xe6, 0xa0,                                     /* 1090: out 0xa0,al */
    0xb0, 0x20,                                     /* 1092: mov al,0x20 */
    0xe6, 0x21,                                     /* 1094: out 0x21,al */
    0xb0, 0x28,                                     /* 1096: mov al,0x28 */
    0xe6, 0xa1,                                     /* 1098: out 0xa1,al */
    0xb0, 0x04,                                     /* 109a: mov al,0x4 */
    0xe6, 0x21,                                     /* 109c: out 0x21,al */
    0xb0, 0x02,                                     /* 109e: mov al,0x2 */
    0xe6, 0xa1,                                     /* 10a0: out 0xa1,al */
    0xb0, 0x01,                                     /* 10a2: mov al,0x1 */
    0xe6, 0x21,                                     /* 10a4: out 0x21,al */
    0xe6, 0xa1,                                     /* 10a6: out 0xa1,al */
    0xb0, 0xfb,                                     /* 10a8: mov al,0xfb */
    0xe6, 0x21,                                     /* 10aa: out 0x21,al */
    0xb0, 0xff,                                     /* 10ac: mov al,0xff */
    0xe6, 0xa1,                                     /* 10ae: out 0xa1,al */
    0xe4, 0x21,                                     /* 10b0: in al,0x21 */
    0x2e, 0xa2, 0x1c, 0x20,                         /* 10b2: mov cs:0x201c,al */
    0xe4, 0xa1,                                     /* 10b6: in al,0xa1 */
    0x2e, 0xa2, 0x1d, 0x20,                         /* 10b8: mov cs:0x201d,al */
    0xba, 0xd0, 0x04,                               /* 10bc: mov dx,0x4d0 */
    0xb0, 0xff,                                     /* 10bf: mov al,0xff */
    0xee,                                           /* 10c1: out dx,al */
    0xec,                                           /* 10c2: in al,dx */
    0x2e, 0xa2, 0x1e, 0x20,                         /* 10c3: mov cs:0x201e,al */
    0xba, 0xd1, 0x04,                               /* 10c7: mov dx,0x4d1 */
    0xb0, 0xff,                                     /* 10ca: mov al,0xff */
    0xee,                                           /* 10cc: out dx,al */
    0xec,                                           /* 10cd: in al,dx */
    0x2e, 0xa2, 0x1f, 0x20,                         /* 10ce: mov cs:0x201f,al */
    0x30, 0xc0,                                     /* 10d2: xor al,al */
    0xee,                                           /* 10d4: out dx,al */
    0xba, 0xd0, 0x04,                               /* 10d5: mov dx,0x4d0 */
    0xee,                                           /* 10d8: out dx,al */
    0xb0, 0x0b,                                     /* 10d9: mov al,0xb */
    0xe6, 0x20,                                     /* 10db: out 0x20,al */
    0xe4, 0x20,                                     /* 10dd: in al,0x20 */
    0x2e, 0xa2, 0x20, 0x20,                         /* 10df: mov cs:0x2020,al */
    0xe6, 0x10,                                     /* 10e3: out 0x10,al */
    0x2e, 0xc7, 0x06, 0x84, 0x00, 0x41, 0x12,       /* 10e5: mov WORD PTR cs:0x84,0x1241 */
    0x2e, 0xc7, 0x06, 0x86, 0x00, 0x00, 0x00,       /* 10ec: mov WORD PTR cs:0x86,0x0 */
    0x2e, 0xc7, 0x06, 0x14, 0x01, 0x4a, 0x12,       /* 10f3: mov WORD PTR cs:0x114,0x124a */
    0x2e, 0xc7, 0x06, 0x16, 0x01, 0x00, 0x00,       /* 10fa: mov WORD PTR cs:0x116,0x0 */
    0x66, 0xb8, 0xff, 0x01, 0x00, 0x00,             /* 1101: mov eax,0x1ff */
    0x64, 0x66, 0xa3, 0xf0, 0x00,                   /* 1107: mov fs:0xf0,eax */
    0x66, 0xb8, 0x1a, 0x00, 0x00, 0x00,             /* 110c: mov eax,0x1a */
    0x66, 0xa3, 0x00, 0x00,                         /* 1112: mov ds:0x0,eax */
    0x66, 0xb8, 0x45, 0x00, 0x00, 0x00,             /* 1116: mov eax,0x45 */
    0x66, 0xa3, 0x10, 0x00,                         /* 111c: mov ds:0x10,eax */
    0xe6, 0x13,                                     /* 1120: out 0x13,al */
    0xb0, 0xf9,                                     /* 1122: mov al,0xf9 */
    0xe6, 0x21,                                     /* 1124: out 0x21,al */
    0xfb,                                           /* 1126: sti */
    0xb9, 0x00, 0x40,                               /* 1127: mov cx,0x4000 */
    0xe2, 0xfe,                                     /* 112a: loop 0x112a */
    0xfa,                                           /* 112c: cli */
    0xe6, 0x11,                                     /* 112d: out 0x11,al */
    0x2e, 0xc7, 0x06, 0x18, 0x01, 0x34, 0x12,       /* 112f: mov WORD PTR cs:0x118,0x1234 */
    0x2e, 0xc7, 0x06, 0x1a, 0x01, 0x00, 0x00,       /* 1136: mov WORD PTR cs:0x11a,0x0 */
    0x66, 0xb8, 0x1c, 0x00, 0x00, 0x00,             /* 113d: mov eax,0x1c */
    0x66, 0xa3, 0x00, 0x00,                         /* 1143: mov ds:0x0,eax */
    0x66, 0xb8, 0x46, 0x80, 0x00, 0x00,             /* 1147: mov eax,0x8046 */
    0x66, 0xa3, 0x10, 0x00,                         /* 114d: mov ds:0x10,eax */
    0xe6, 0x14,                                     /* 1151: out 0x14,al */
    0xfb,                                           /* 1153: sti */
    0xb9, 0x00, 0x40,                               /* 1154: mov cx,0x4000 */
    0xe2, 0xfe,                                     /* 1157: loop 0x1157 */
    0xfa,                                           /* 1159: cli */
    0xe6, 0x15,                                     /* 115a: out 0x15,al */
    0xb0, 0xf1,                                     /* 115c: mov al,0xf1 */
    0xe6, 0x21,                                     /* 115e: out 0x21,al */
    0xb0, 0x0c,                                     /* 1160: mov al,0xc */
    0xe6, 0x20,                                     /* 1162: out 0x20,al */
    0xe4, 0x20,                                     /* 1164: in al,0x20 */
    0x2e, 0xa2, 0x24, 0x20,                         /* 1166: mov cs:0x2024,al */
    0xb0, 0x0c,                                     /* 116a: mov al,0xc */
    0xe6, 0x20,                                     /* 116c: out 0x20,al */
    0xe4, 0x20,                                     /* 116e: in al,0x20 */
    0x2e, 0xa2, 0x25, 0x20,                         /* 1170: mov cs:0x2025,al */
    0xb0, 0x20,                                     /* 1174: mov al,0x20 */
    0xe6, 0x20,                                     /* 1176: out 0x20,al */
    0xb0, 0x0b,                                     /* 1178: mov al,0xb */
    0xe6, 0x20,                                     /* 117a: out 0x20,al */
    0xe4, 0x20,                                     /* 117c: in al,0x20 */
    0x2e, 0xa2, 0x26, 0x20,                         /* 117e: mov cs:0x2026,al */
    0xe6, 0x16,                                     /* 1182: out 0x16,al */
    0x66, 0xbb, 0x39, 0x30, 0x00, 0x00,             /* 1184: mov ebx,0x3039 */
    0xb9, 0xb8, 0x0b,                               /* 118a: mov cx,0xbb8 */
    0x66, 0x69, 0xdb, 0x6d, 0x4e, 0xc6, 0x41,       /* 118d: imul ebx,ebx,0x41c64e6d */
    0x66, 0x81, 0xc3, 0x39, 0x30, 0x00, 0x00,       /* 1194: add ebx,0x3039 */
    0x66, 0x89, 0xd8,                               /* 119b: mov eax,ebx */
    0x66, 0xc1, 0xe8, 0x08,                         /* 119e: shr eax,0x8 */
    0x89, 0xc6,                                     /* 11a2: mov si,ax */
    0x83, 0xe6, 0x0e,                               /* 11a4: and si,0xe */
    0x2e, 0x8b, 0x94, 0x57, 0x12,                   /* 11a7: mov dx,WORD PTR cs:[si+0x1257] */
    0xee,                                           /* 11ac: out dx,al */
    0xec,                                           /* 11ad: in al,dx */
    0x66, 0x89, 0xd8,                               /* 11ae: mov eax,ebx */
    0x66, 0xc1, 0xe8, 0x10,                         /* 11b1: shr eax,0x10 */
    0x66, 0xa3, 0x00, 0x00,                         /* 11b5: mov ds:0x0,eax */
    0x66, 0x89, 0xd8,                               /* 11b9: mov eax,ebx */
    0x66, 0x0d, 0x00, 0x00, 0x01, 0x00,             /* 11bc: or eax,0x10000 */
    0x66, 0xa3, 0x10, 0x00,                         /* 11c2: mov ds:0x10,eax */
    0x66, 0xa1, 0x10, 0x00,                         /* 11c6: mov eax,ds:0x10 */
    0xa3, 0x10, 0x00,                               /* 11ca: mov ds:0x10,ax */
    0x88, 0x1e, 0x00, 0x00,                         /* 11cd: mov BYTE PTR ds:0x0,bl */
    0x66, 0xa3, 0x40, 0x00,                         /* 11d1: mov ds:0x40,eax */
    0xa0, 0x20, 0x00,                               /* 11d5: mov al,ds:0x20 */
    0xe7, 0xa0,                                     /* 11d8: out 0xa0,ax */
    0xe5, 0x20,                                     /* 11da: in ax,0x20 */
    0xe2, 0xaf,                                     /* 11dc: loop 0x118d */
    0xe6, 0x17,                                     /* 11de: out 0x17,al */
    0x2e, 0xc7, 0x06, 0x90, 0x00, 0x2b, 0x12,       /* 11e0: mov WORD PTR cs:0x90,0x122b */
    0x2e, 0xc7, 0x06, 0x92, 0x00, 0x00, 0x00,       /* 11e7: mov WORD PTR cs:0x92,0x0 */
    0xba, 0xd0, 0x04,                               /* 11ee: mov dx,0x4d0 */
    0x30, 0xc0,                                     /* 11f1: xor al,al */
    0xee,                                           /* 11f3: out dx,al */
    0xb0, 0x11,                                     /* 11f4: mov al,0x11 */
    0xe6, 0x20,                                     /* 11f6: out 0x20,al */
    0xb0, 0x20,                                     /* 11f8: mov al,0x20 */
    0xe6, 0x21,                                     /* 11fa: out 0x21,al */
    0xb0, 0x04,                                     /* 11fc: mov al,0x4 */
    0xe6, 0x21,                                     /* 11fe: out 0x21,al */
    0xb0, 0x01,                                     /* 1200: mov al,0x1 */
    0xe6, 0x21,                                     /* 1202: out 0x21,al */
    0xb0, 0xef,                                     /* 1204: mov al,0xef */
    0xe6, 0x21,                                     /* 1206: out 0x21,al */
    0xe6, 0x18,                                     /* 1208: out 0x18,al */
    0xfb,                                           /* 120a: sti */
    0xf4,                                           /* 120b: hlt */
    0xfa,                                           /* 120c: cli */
    0xe6, 0x19,                                     /* 120d: out 0x19,al */
    0xb0, 0x11,                                     /* 120f: mov al,0x11 */
    0xe6, 0x20,                                     /* 1211: out 0x20,al */
    0xb0, 0x20,                                     /* 1213: mov al,0x20 */
    0xe6, 0x21,                                     /* 1215: out 0x21,al */
    0xb0, 0x04,                                     /* 1217: mov al,0x4 */
    0xe6, 0x21,                                     /* 1219: out 0x21,al */
    0xb0, 0x03,                                     /* 121b: mov al,0x3 */
    0xe6, 0x21,                                     /* 121d: out 0x21,al */
    0xb0, 0xef,                                     /* 121f: mov al,0xef */
    0xe6, 0x21,                                     /* 1221: out 0x21,al */
    0xe6, 0x1a,                                     /* 1223: out 0x1a,al */
    0xfb,                                           /* 1225: sti */
    0xf4,                                           /* 1226: hlt */
    0xfa,                                           /* 1227: cli */
    0xe6, 0x1b,                                     /* 1228: out 0x1b,al */
    0xf4,                                           /* 122a: hlt */
    0xb0, 0x24,                                     /* 122b: mov al,0x24 */
    0xe6, 0x12,                                     /* 122d: out 0x12,al */
    0xb0, 0x20,                                     /* 122f: mov al,0x20 */
    0xe6, 0x20,                                     /* 1231: out 0x20,al */
    0xcf,                                           /* 1233: iret */
    0xb0, 0x46,                                     /* 1234: mov al,0x46 */
    0xe6, 0x12,                                     /* 1236: out 0x12,al */
    0x66, 0x31, 0xc0,                               /* 1238: xor eax,eax */
    0x64, 0x66, 0xa3, 0xb0, 0x00,                   /* 123b: mov fs:0xb0,eax */
    0xcf,                                           /* 1240: iret */
    0xb0, 0x21,                                     /* 1241: mov al,0x21 */
    0xe6, 0x12,                                     /* 1243: out 0x12,al */
    0xb0, 0x20,                                     /* 1245: mov al,0x20 */
    0xe6, 0x20,                                     /* 1247: out 0x20,al */
    0xcf,                                           /* 1249: iret */
    0xb0, 0x45,                                     /* 124a: mov al,0x45 */
    0xe6, 0x12,                                     /* 124c: out 0x12,al */
    0x66, 0x31, 0xc0,                               /* 124e: xor eax,eax */
    0x64, 0x66, 0xa3, 0xb0, 0x00,                   /* 1251: mov fs:0xb0,eax */
    0xcf,                                           /* 1256: iret */
    0x20, 0x00, 0x21, 0x00, 0xa0, 0x00, 0xa1, 0x00, /* 1257: ports: dw 0x20, 0x21, 0xa0, 0xa1 */
    0xd0, 0x04, 0xd1, 0x04, 0x20, 0x00, 0xa0, 0x00, /* 125f: dw 0x4d0, 0x4d1, 0x20, 0xa0 */
};

#define PIC_HANDLER_PORT 0x12

static int create_vm(int sys) {
  int vm = ioctl(sys, KVM_CREATE_VM, 0);
  if (vm < 0) perror("KVM_CREATE_VM"), exit(1);
  return vm;
}

static int get_chip(int vm, uint32_t id, struct kvm_irqchip *chip) {
  memset(chip, 0, sizeof(*chip));
  chip->chip_id = id;
  return ioctl(vm, KVM_GET_IRQCHIP, chip);
}

static int set_chip(int vm, const struct kvm_irqchip *chip) {
  return ioctl(vm, KVM_SET_IRQCHIP, chip);
}

/* KVM_CREATE_IRQCHIP: once, and only before the first vCPU; GET/SET_IRQCHIP need it. */
static void test_create(int sys) {
  struct kvm_irqchip chip;
  int vm = create_vm(sys);

  errno = 0;
  check(get_chip(vm, KVM_IRQCHIP_PIC_MASTER, &chip) == -1 && errno == ENXIO,
        "KVM_GET_IRQCHIP without an irqchip is ENXIO", errno);
  check(ioctl(vm, KVM_CREATE_IRQCHIP, 0) == 0, "KVM_CREATE_IRQCHIP", errno);
  errno = 0;
  check(ioctl(vm, KVM_CREATE_IRQCHIP, 0) == -1 && errno == EEXIST,
        "a second KVM_CREATE_IRQCHIP is EEXIST", errno);
  close(vm);

  vm = create_vm(sys);
  int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  check(vcpu >= 0, "KVM_CREATE_VCPU", errno);
  errno = 0;
  check(ioctl(vm, KVM_CREATE_IRQCHIP, 0) == -1 && errno == EINVAL,
        "KVM_CREATE_IRQCHIP after a vCPU is EINVAL", errno);
  close(vcpu);
  close(vm);
}

/* Reset state as KVM's: everything 0 but the ELCR masks; IOAPIC at its base, entries masked. */
static void test_reset_state(int vm) {
  struct kvm_irqchip chip;
  struct kvm_pic_state pic = {0};

  check(get_chip(vm, KVM_IRQCHIP_PIC_MASTER, &chip) == 0, "GET master", errno);
  pic.elcr_mask = 0xf8;
  check(memcmp(&chip.chip.pic, &pic, sizeof(pic)) == 0, "master reset state", chip.chip.pic.imr);
  check(get_chip(vm, KVM_IRQCHIP_PIC_SLAVE, &chip) == 0, "GET slave", errno);
  pic.elcr_mask = 0xde;
  check(memcmp(&chip.chip.pic, &pic, sizeof(pic)) == 0, "slave reset state", chip.chip.pic.imr);
  check(get_chip(vm, KVM_IRQCHIP_IOAPIC, &chip) == 0, "GET IOAPIC", errno);
  struct kvm_ioapic_state *io = &chip.chip.ioapic;
  check(io->base_address == IOAPIC_BASE, "IOAPIC base", io->base_address);
  check(io->id == 0 && io->ioregsel == 0 && io->irr == 0, "IOAPIC ID, IOREGSEL, IRR", io->irr);
  for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
    check(io->redirtbl[i].bits == REDIR_MASKED, "IOAPIC entry masked at reset",
          io->redirtbl[i].bits);

  uint32_t bad[] = {3, 4, 0xffffffff};
  for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    errno = 0;
    check(get_chip(vm, bad[i], &chip) == -1 && errno == EINVAL, "GET of a bad chip id", bad[i]);
    chip.chip_id = bad[i];
    errno = 0;
    check(set_chip(vm, &chip) == -1 && errno == EINVAL, "SET of a bad chip id", bad[i]);
  }
  errno = 0;
  check(ioctl(vm, KVM_GET_IRQCHIP, NULL) == -1 && errno == EFAULT, "GET from NULL", errno);
}

/* SET then GET gives the same state back, for states that raise no interrupt. */
static void test_round_trip(int vm) {
  struct kvm_irqchip in = {.chip_id = KVM_IRQCHIP_PIC_MASTER}, out;
  struct kvm_pic_state master = {.last_irr = 0x08,
                                 .irr = 0x08,
                                 .imr = 0xff,
                                 .isr = 0x10,
                                 .priority_add = 3,
                                 .irq_base = 0x08,
                                 .read_reg_select = 1,
                                 .special_mask = 0,
                                 .init_state = 0,
                                 .auto_eoi = 0,
                                 .rotate_on_auto_eoi = 1,
                                 .special_fully_nested_mode = 1,
                                 .init4 = 1,
                                 .elcr = 0x08,
                                 .elcr_mask = 0xf8};
  in.chip.pic = master;
  check(set_chip(vm, &in) == 0, "SET master", errno);
  check(get_chip(vm, KVM_IRQCHIP_PIC_MASTER, &out) == 0, "GET master", errno);
  check(memcmp(&out.chip.pic, &master, sizeof(master)) == 0, "master round trip", out.chip.pic.irr);

  struct kvm_pic_state slave = {.imr = 0xa5,
                                .priority_add = 7,
                                .irq_base = 0x70,
                                .init_state = 2,
                                .init4 = 1,
                                .elcr = 0x9e,
                                .elcr_mask = 0xde};
  in.chip_id = KVM_IRQCHIP_PIC_SLAVE;
  in.chip.pic = slave;
  check(set_chip(vm, &in) == 0, "SET slave", errno);
  check(get_chip(vm, KVM_IRQCHIP_PIC_SLAVE, &out) == 0, "GET slave", errno);
  check(memcmp(&out.chip.pic, &slave, sizeof(slave)) == 0, "slave round trip", out.chip.pic.imr);

  struct kvm_ioapic_state io = {.base_address = IOAPIC_BASE, .ioregsel = 0x13, .id = 5};
  for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
    io.redirtbl[i].bits = REDIR_MASKED | (uint64_t)i << 56 | (0x30 + i) | (i & 1) << 15;
  io.redirtbl[7].bits |= 1 << 14; /* remote IRR, as a migrated level entry in service */
  in.chip_id = KVM_IRQCHIP_IOAPIC;
  in.chip.ioapic = io;
  check(set_chip(vm, &in) == 0, "SET IOAPIC", errno);
  check(get_chip(vm, KVM_IRQCHIP_IOAPIC, &out) == 0, "GET IOAPIC", errno);
  check(memcmp(&out.chip.ioapic, &io, sizeof(io)) == 0, "IOAPIC round trip",
        out.chip.ioapic.ioregsel);

  /* Back to the reset state for what follows. */
  memset(&in, 0, sizeof(in));
  in.chip.pic.elcr_mask = 0xf8;
  set_chip(vm, &in);
  in.chip_id = KVM_IRQCHIP_PIC_SLAVE;
  in.chip.pic.elcr_mask = 0xde;
  set_chip(vm, &in);
  memset(&in, 0, sizeof(in));
  in.chip_id = KVM_IRQCHIP_IOAPIC;
  in.chip.ioapic.base_address = IOAPIC_BASE;
  for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++) in.chip.ioapic.redirtbl[i].bits = REDIR_MASKED;
  set_chip(vm, &in);
}

/* KVM_IRQ_LINE_STATUS: its result, or -100 and errno when the ioctl fails. */
static int line(int vm, uint32_t gsi, uint32_t level) {
  struct kvm_irq_level irq = {.irq = gsi, .level = level};
  if (ioctl(vm, KVM_IRQ_LINE_STATUS, &irq)) return -100;
  return irq.status;
}

/* Returns whether the IRQ line ioctls work (they are the routing code's). */
static int test_lines(int vm) {
  struct kvm_irqchip chip;
  int r = line(vm, 16, 1);

  if (r == -100) {
    printf("SKIP: KVM_IRQ_LINE_STATUS fails (errno %d: %s): no line tests\n", errno,
           strerror(errno));
    return 0;
  }
  /* GSI 16 is IOAPIC pin 16 alone: masked, the level is still seen in IRR. */
  check(r == -1, "GSI 16 raised on a masked IOAPIC pin is -1", r);
  check(get_chip(vm, KVM_IRQCHIP_IOAPIC, &chip) == 0 && chip.chip.ioapic.irr == 1 << 16,
        "the masked pin's level is in IOAPIC IRR", chip.chip.ioapic.irr);
  r = line(vm, 16, 1);
  check(r == 0, "raising it again is coalesced (0), as KVM", r);
  r = line(vm, 16, 0);
  check(r == 1, "lowering it is 1", r);
  check(get_chip(vm, KVM_IRQCHIP_IOAPIC, &chip) == 0 && chip.chip.ioapic.irr == 0,
        "IOAPIC IRR follows the level", chip.chip.ioapic.irr);

  /* GSI 3: PIC IRQ 3 (unmasked at reset, edge) and IOAPIC pin 3 (masked). */
  r = line(vm, 3, 1);
  check(r == 1 || r == 0, "GSI 3 raised: the PIC takes it", r);
  check(get_chip(vm, KVM_IRQCHIP_PIC_MASTER, &chip) == 0 && chip.chip.pic.irr == 0x08 &&
            chip.chip.pic.last_irr == 0x08,
        "PIC IRR and level of IRQ 3", chip.chip.pic.irr);
  r = line(vm, 3, 0);
  check(r == 2, "GSI 3 lowered: 1 from each chip", r);
  check(get_chip(vm, KVM_IRQCHIP_PIC_MASTER, &chip) == 0 && chip.chip.pic.irr == 0x08 &&
            chip.chip.pic.last_irr == 0,
        "an edge request stays latched after the line falls", chip.chip.pic.irr);

  /* GSI 11 with ELCR level and both chips masked: -1, and IRR follows the level. */
  chip.chip_id = KVM_IRQCHIP_PIC_SLAVE;
  get_chip(vm, KVM_IRQCHIP_PIC_SLAVE, &chip);
  chip.chip.pic.imr = 0xff;
  chip.chip.pic.elcr = 0x08;
  check(set_chip(vm, &chip) == 0, "SET slave masked, IRQ 11 level", errno);
  r = line(vm, 11, 1);
  check(r == -1, "GSI 11 on masked pins is -1", r);
  check(get_chip(vm, KVM_IRQCHIP_PIC_SLAVE, &chip) == 0 && chip.chip.pic.irr == 0x08,
        "a level IRQ is in IRR while high", chip.chip.pic.irr);
  line(vm, 11, 0);
  check(get_chip(vm, KVM_IRQCHIP_PIC_SLAVE, &chip) == 0 && chip.chip.pic.irr == 0,
        "and leaves it when low", chip.chip.pic.irr);
  errno = 0;
  struct kvm_irq_level bad = {.irq = 4096, .level = 1};
  int e = ioctl(vm, KVM_IRQ_LINE_STATUS, &bad);
  printf("info: KVM_IRQ_LINE_STATUS of GSI 4096: %d (errno %d), status %d\n", e, errno, bad.status);
  return 1;
}

struct guest {
  int vm, fd;
  struct kvm_run *run;
  uint8_t *mem;
};

static void on_alarm(int sig) {
  (void)sig;
}

static int setup_guest(int sys, struct guest *g) {
  g->vm = create_vm(sys);
  if (ioctl(g->vm, KVM_CREATE_IRQCHIP, 0)) return perror("KVM_CREATE_IRQCHIP"), -1;
  g->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (g->mem == MAP_FAILED) return perror("mmap"), -1;
  memcpy(g->mem + CODE, program, sizeof(program));
  struct kvm_userspace_memory_region region = {
      .slot = 0, .memory_size = MEM_SIZE, .userspace_addr = (uintptr_t)g->mem};
  if (ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, &region)) return perror("slot"), -1;
  g->fd = ioctl(g->vm, KVM_CREATE_VCPU, 0);
  if (g->fd < 0) return perror("KVM_CREATE_VCPU"), -1;
  int size = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
  g->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd, 0);
  if (g->run == MAP_FAILED) return perror("mmap kvm_run"), -1;
  struct kvm_sregs sregs;
  if (ioctl(g->fd, KVM_GET_SREGS, &sregs)) return perror("KVM_GET_SREGS"), -1;
  sregs.cs.selector = 0;
  sregs.cs.base = 0;
  sregs.ds.base = IOAPIC_BASE;
  sregs.fs.base = LAPIC_BASE;
  sregs.ss.base = 0;
  sregs.idt.base = 0;
  sregs.idt.limit = 0x3ff;
  if (ioctl(g->fd, KVM_SET_SREGS, &sregs)) return perror("KVM_SET_SREGS"), -1;
  struct kvm_regs regs = {.rip = CODE, .rflags = 2, .rsp = STACK};
  if (ioctl(g->fd, KVM_SET_REGS, &regs)) return perror("KVM_SET_REGS"), -1;
  return 0;
}

/* Runs to the next exit; returns the port of an OUT, or -1 (reported) for anything else. */
static int run_to_out(struct guest *g) {
  struct kvm_run *run = g->run;

  alarm(30);
  int r = ioctl(g->fd, KVM_RUN, 0);
  alarm(0);
  if (r) {
    check(0, "KVM_RUN (EINTR: the guest waited 30 s for an interrupt)", r);
    return -1;
  }
  if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT) return run->io.port;
  if (run->exit_reason == KVM_EXIT_MMIO)
    printf("info: MMIO exit at %#llx (len %u, write %u): not handled in the kernel\n",
           (unsigned long long)run->mmio.phys_addr, run->mmio.len, run->mmio.is_write);
  else if (run->exit_reason == KVM_EXIT_IO)
    printf("info: IN exit at port %#x: not handled in the kernel\n", run->io.port);
  check(0, "the guest exits only by OUT", run->exit_reason);
  return -1;
}

static uint32_t result32(struct guest *g, unsigned off) {
  uint32_t v;
  memcpy(&v, g->mem + RESULTS + off, 4);
  return v;
}

static void check_phase1(struct guest *g) {
  struct kvm_irqchip chip;

  check(result32(g, 0x00) == 0x18935, "entry 2 low reads back without remote IRR/status",
        result32(g, 0x00));
  check(result32(g, 0x04) == 0x5a000000, "entry 2 high reads back", result32(g, 0x04));
  check(result32(g, 0x08) == 0x00170011, "IOAPIC version 0x11, 24 entries", result32(g, 0x08));
  check(result32(g, 0x0c) == 0x0f000000, "IOAPIC ID keeps bits 27:24", result32(g, 0x0c));
  check(result32(g, 0x10) == 0, "IOREGSEL reads back", result32(g, 0x10));
  check(result32(g, 0x14) == 0xffffffff, "a missing register reads all ones, as KVM",
        result32(g, 0x14));
  check(result32(g, 0x18) == 0, "offset 0x40 (EOI in version 0x20) reads 0", result32(g, 0x18));
  check(g->mem[RESULTS + 0x1c] == 0xfb, "master IMR reads back", g->mem[RESULTS + 0x1c]);
  check(g->mem[RESULTS + 0x1d] == 0xff, "slave IMR reads back", g->mem[RESULTS + 0x1d]);
  check(g->mem[RESULTS + 0x1e] == 0xf8, "master ELCR mask 0xf8", g->mem[RESULTS + 0x1e]);
  check(g->mem[RESULTS + 0x1f] == 0xde, "slave ELCR mask 0xde", g->mem[RESULTS + 0x1f]);
  check(g->mem[RESULTS + 0x20] == 0, "master ISR via OCW3", g->mem[RESULTS + 0x20]);

  check(get_chip(g->vm, KVM_IRQCHIP_IOAPIC, &chip) == 0, "GET IOAPIC", errno);
  check(chip.chip.ioapic.redirtbl[2].bits == 0x5a00000000018935ULL, "GET shows entry 2",
        chip.chip.ioapic.redirtbl[2].bits);
  check(chip.chip.ioapic.id == 15, "GET shows the ID", chip.chip.ioapic.id);
  check(get_chip(g->vm, KVM_IRQCHIP_PIC_MASTER, &chip) == 0, "GET master", errno);
  struct kvm_pic_state *p = &chip.chip.pic;
  check(p->irq_base == 0x20 && p->imr == 0xfb && p->init_state == 0 && p->init4 == 1 &&
            p->read_reg_select == 1 && p->elcr == 0,
        "GET shows the guest's master", p->irq_base);
  check(get_chip(g->vm, KVM_IRQCHIP_PIC_SLAVE, &chip) == 0, "GET slave", errno);
  check(p->irq_base == 0x28 && p->imr == 0xff && p->init_state == 0 && p->elcr == 0,
        "GET shows the guest's slave", p->irq_base);
}

/* Raises GSI 1 (PIC IRQ 1) and 5 (IOAPIC pin 5) by IRQ_LINE, else by SET_IRQCHIP's IRRs. */
static void raise_irqs(struct guest *g, int have_lines) {
  struct kvm_irqchip chip;

  if (have_lines) {
    check(line(g->vm, 1, 1) >= -1, "GSI 1 raised", 0);
    line(g->vm, 1, 0);
    int r = line(g->vm, 5, 1);
    check(r == 1, "GSI 5 reaches the LAPIC through the IOAPIC (1)", r);
    line(g->vm, 5, 0);
    return;
  }
  get_chip(g->vm, KVM_IRQCHIP_PIC_MASTER, &chip);
  chip.chip.pic.irr |= 0x02;
  check(set_chip(g->vm, &chip) == 0, "SET master IRR", errno);
  get_chip(g->vm, KVM_IRQCHIP_IOAPIC, &chip);
  chip.chip.ioapic.irr |= 1 << 5;
  check(set_chip(g->vm, &chip) == 0, "SET IOAPIC IRR", errno);
}

static uint64_t entry(struct guest *g, int pin) {
  struct kvm_irqchip chip;
  get_chip(g->vm, KVM_IRQCHIP_IOAPIC, &chip);
  return chip.chip.ioapic.redirtbl[pin].bits;
}

static void *raise_gsi4_later(void *arg) {
  struct guest *g = arg;
  usleep(200 * 1000);
  line(g->vm, 4, 1);
  line(g->vm, 4, 0);
  return NULL;
}

static void *set_irr4_later(void *arg) {
  struct guest *g = arg;
  struct kvm_irqchip chip;
  usleep(200 * 1000);
  get_chip(g->vm, KVM_IRQCHIP_PIC_MASTER, &chip);
  chip.chip.pic.irr |= 0x10;
  check(set_chip(g->vm, &chip) == 0, "SET master IRR", errno);
  return NULL;
}

/* Phases 6 and 7: a vCPU halted with interrupts on wakes when the PIC's output rises. */
static void test_halt_wakeup(struct guest *g) {
  int port = run_to_out(g);
  check(port == 0x18, "phase 6 stops at OUT 0x18", port);
  if (port != 0x18) return;
  pthread_t thread;
  pthread_create(&thread, NULL, raise_gsi4_later, g);
  port = run_to_out(g);
  check(port == PIC_HANDLER_PORT && ((uint8_t *)g->run)[g->run->io.data_offset] == 0x24,
        "IRQ 4 woke the halted vCPU (handler of vector 0x24)", port);
  pthread_join(thread, NULL);
  if (port == PIC_HANDLER_PORT) port = run_to_out(g);
  check(port == 0x19, "phase 6 ends with OUT 0x19", port);
  if (port != 0x19) return;

  port = run_to_out(g);
  check(port == 0x1a, "phase 7 stops at OUT 0x1a", port);
  if (port != 0x1a) return;
  pthread_create(&thread, NULL, set_irr4_later, g);
  port = run_to_out(g);
  check(port == PIC_HANDLER_PORT && ((uint8_t *)g->run)[g->run->io.data_offset] == 0x24,
        "SET_IRQCHIP's IRR woke the halted vCPU", port);
  pthread_join(thread, NULL);
  struct kvm_irqchip chip;
  check(get_chip(g->vm, KVM_IRQCHIP_PIC_MASTER, &chip) == 0 && chip.chip.pic.auto_eoi == 1 &&
            chip.chip.pic.isr == 0 && chip.chip.pic.irr == 0,
        "automatic EOI: nothing in service while the handler runs", chip.chip.pic.isr);
  if (port == PIC_HANDLER_PORT) port = run_to_out(g);
  check(port == 0x1b, "phase 7 ends with OUT 0x1b", port);
}

/* Phases 3 to 6: a level-triggered IOAPIC pin held high through one EOI, then PIC polling. */
static void test_level(struct guest *g) {
  int port = run_to_out(g), deliveries = 0, r;

  check(port == 0x14, "phase 3 stops at OUT 0x14", port);
  if (port != 0x14) return;
  r = line(g->vm, 6, 1);
  check(r == 1, "GSI 6 (level) reaches the LAPIC", r);
  while ((port = run_to_out(g)) == PIC_HANDLER_PORT) {
    deliveries++;
    check(entry(g, 6) & (1 << 14), "remote IRR while the handler runs", entry(g, 6));
    r = line(g->vm, 6, 1);
    check(r == -1, "raising a pin in service is -1, as KVM", r);
    if (deliveries == 2) line(g->vm, 6, 0); /* the first EOI finds it high: delivered again */
  }
  check(port == 0x15, "phase 3 ends with OUT 0x15", port);
  check(deliveries == 2, "the level pin was delivered twice (again after the first EOI)",
        deliveries);
  check(!(entry(g, 6) & (1 << 14)), "remote IRR clear after the last EOI", entry(g, 6));
  if (port != 0x15) return;

  r = line(g->vm, 3, 1);
  line(g->vm, 3, 0);
  port = run_to_out(g);
  check(port == 0x16, "phase 4 ends with OUT 0x16", port);
  uint8_t *res = g->mem + RESULTS;
  if (strcmp(dev, "/dev/kagami") == 0) {
    /* The 8259A datasheet's poll; KVM answers 0x03, 0x07 and clears ISR instead. */
    check(res[0x24] == 0x83, "poll: a request, IRQ 3", res[0x24]);
    check(res[0x25] == 0x00, "poll: no request", res[0x25]);
  }
  printf("info: poll read %#x then %#x on %s\n", res[0x24], res[0x25], dev);
  check(res[0x26] == 0, "ISR clear after the EOI", res[0x26]);
  port = run_to_out(g);
  check(port == 0x17, "phase 5 (random register values) ends with OUT 0x17", port);
  if (port == 0x17) test_halt_wakeup(g);
}

static uint32_t rng_state = 1;
static uint32_t rng(void) {
  rng_state = rng_state * 1103515245 + 12345;
  return rng_state >> 8;
}

/*
 * Random states through SET_IRQCHIP and random lines: every SET and GET succeeds and nothing
 * breaks. With a vCPU (never run), random IOAPIC entries deliver every kind of interrupt to it.
 */
static void fuzz(int vm) {
  struct kvm_irqchip chip;

  for (int i = 0; i < 2000; i++) {
    memset(&chip, 0, sizeof(chip));
    chip.chip_id = rng() % 3;
    uint8_t *bytes = (uint8_t *)&chip.chip;
    for (size_t b = 0; b < sizeof(chip.chip.ioapic); b++) bytes[b] = rng();
    if (chip.chip_id == KVM_IRQCHIP_IOAPIC && rng() % 4) chip.chip.ioapic.ioregsel = rng() % 0x40;
    if (set_chip(vm, &chip)) check(0, "SET_IRQCHIP of a random state", chip.chip_id);
    line(vm, rng() % 24, rng() % 2);
    if (get_chip(vm, rng() % 3, &chip)) check(0, "GET_IRQCHIP after random states", errno);
  }
}

static void test_guest(int sys, int have_lines) {
  struct guest g;

  if (setup_guest(sys, &g)) {
    check(0, "guest setup", errno);
    return;
  }
  int port = run_to_out(&g);
  check(port == 0x10, "phase 1 ends with OUT 0x10", port);
  if (port != 0x10) return;
  check_phase1(&g);
  port = run_to_out(&g);
  check(port == 0x13, "phase 2 stops at OUT 0x13", port);
  if (port != 0x13) return;
  raise_irqs(&g, have_lines);
  int seen_pic = 0, seen_ioapic = 0;
  while ((port = run_to_out(&g)) == PIC_HANDLER_PORT) {
    uint8_t vector = ((uint8_t *)g.run)[g.run->io.data_offset];
    seen_pic += vector == 0x21;
    seen_ioapic += vector == 0x45;
  }
  check(port == 0x11, "phase 2 ends with OUT 0x11", port);
  check(seen_pic == 1, "the PIC's IRQ 1 reached the guest once as vector 0x21", seen_pic);
  check(seen_ioapic == 1, "IOAPIC pin 5 reached the guest once as vector 0x45", seen_ioapic);
  struct kvm_irqchip chip;
  check(get_chip(g.vm, KVM_IRQCHIP_PIC_MASTER, &chip) == 0 && chip.chip.pic.isr == 0 &&
            !(chip.chip.pic.irr & 0x02),
        "IRQ 1 acknowledged and EOI'd", chip.chip.pic.isr);
  if (port == 0x11 && have_lines) test_level(&g);
  fuzz(g.vm);
  close(g.fd);
  close(g.vm);
}

int main(int argc, char **argv) {
  dev = argc > 1 ? argv[1] : "/dev/kagami";
  /* Line by line: a run killed by nested-run's timeout still shows how far it got. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGALRM, on_alarm);
  int sys = open(dev, O_RDWR | O_CLOEXEC);
  if (sys < 0) return perror(dev), 1;
  test_create(sys);
  int vm = create_vm(sys);
  check(ioctl(vm, KVM_CREATE_IRQCHIP, 0) == 0, "KVM_CREATE_IRQCHIP", errno);
  test_reset_state(vm);
  test_round_trip(vm);
  int have_lines = test_lines(vm);
  fuzz(vm);
  close(vm);
  test_guest(sys, have_lines);
  printf("%s: in-kernel PIC and IOAPIC on %s\n", failures ? "FAIL" : "PASS", dev);
  return failures != 0;
}
