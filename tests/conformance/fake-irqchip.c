// SPDX-License-Identifier: GPL-2.0
/* LD_PRELOAD shim of scripts/conformance --fake-irqchip: KVM_CREATE_IRQCHIP "succeeds", unsent. */
/*
 * Every x86 KVM selftest creates an in-kernel irqchip right after its VM, and kagami.ko has none
 * yet, so without this shim every test stops there and says nothing about the rest of the ABI.
 * With it, a test goes on as if the irqchip existed: what it then reports measures the other
 * ioctls (and any interrupt it expected to be delivered in the kernel fails visibly). Results
 * under this shim are a diagnostic, never a conformance claim.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <linux/kvm.h>
#include <stdarg.h>

int ioctl(int fd, unsigned long request, ...) {
  static int (*real_ioctl)(int, unsigned long, void *);
  va_list ap;
  void *arg;

  va_start(ap, request);
  arg = va_arg(ap, void *);
  va_end(ap);
  if (request == KVM_CREATE_IRQCHIP) return 0;
  if (!real_ioctl) real_ioctl = (int (*)(int, unsigned long, void *))dlsym(RTLD_NEXT, "ioctl");
  return real_ioctl(fd, request, arg);
}
