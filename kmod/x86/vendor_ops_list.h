/* SPDX-License-Identifier: GPL-2.0 */
/* vendor_ops_list.h: the one list of vendor hooks, as KVM's kvm-x86-ops.h (no include guard). */

/*
 * Include with KAGAMI_VENDOR_OP(name) defined; this file undefines it. Every
 * hook of struct kagami_vendor_ops is listed here, in its order; vendor.c
 * checks at build time that the two agree, and at load that the chosen vendor
 * fills every hook.
 */
KAGAMI_VENDOR_OP(probe)
KAGAMI_VENDOR_OP(hardware_enable)
KAGAMI_VENDOR_OP(hardware_disable)
KAGAMI_VENDOR_OP(vcpu_create)
KAGAMI_VENDOR_OP(vcpu_free)
KAGAMI_VENDOR_OP(vm_init)
KAGAMI_VENDOR_OP(vm_destroy)
KAGAMI_VENDOR_OP(memslots_changed)
KAGAMI_VENDOR_OP(dirty_log_start)
KAGAMI_VENDOR_OP(dirty_log_stop)
KAGAMI_VENDOR_OP(write_protect)
KAGAMI_VENDOR_OP(vcpu_run)
KAGAMI_VENDOR_OP(get_regs)
KAGAMI_VENDOR_OP(set_regs)
KAGAMI_VENDOR_OP(get_sregs)
KAGAMI_VENDOR_OP(set_sregs)
KAGAMI_VENDOR_OP(get_msr)
KAGAMI_VENDOR_OP(set_msr)
KAGAMI_VENDOR_OP(fpu_image)
KAGAMI_VENDOR_OP(queue_interrupt)
KAGAMI_VENDOR_OP(queue_nmi)
KAGAMI_VENDOR_OP(get_vcpu_events)
KAGAMI_VENDOR_OP(set_vcpu_events)
KAGAMI_VENDOR_OP(tsc_offset)
KAGAMI_VENDOR_OP(accept_events)
KAGAMI_VENDOR_OP(get_debugregs)
KAGAMI_VENDOR_OP(set_debugregs)

#undef KAGAMI_VENDOR_OP
