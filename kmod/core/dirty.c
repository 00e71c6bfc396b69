// SPDX-License-Identifier: GPL-2.0
/* dirty.c: dirty logging as KVM's: per-slot bitmaps, GET/CLEAR_DIRTY_LOG, manual protect. */
#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "core/kagami.h"

/* KVM 6.1 on x86: slot ids below 32764 and two address spaces are valid in the dirty-log ioctls. */
#define KAGAMI_KVM_USER_MEM_SLOTS	32764
#define KAGAMI_KVM_ADDRESS_SPACES	2

/* KVM's KVM_DIRTY_LOG_MANUAL_CAPS on x86. */
#define KAGAMI_DIRTY_LOG_MANUAL_CAPS	(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | \
					 KVM_DIRTY_LOG_INITIALLY_SET)

static unsigned long kagami_dirty_bitmap_bytes(u64 npages)
{
	return ALIGN(npages, BITS_PER_LONG) / 8;
}

/*
 * Two bitmaps in one allocation, as KVM's: the log, then a buffer for
 * KVM_CLEAR_DIRTY_LOG's argument (used with vm->lock held). Up to 512 MiB
 * for the largest slot: a VMM asking for more than it may have gets -ENOMEM,
 * not a warning in the kernel log.
 */
unsigned long *kagami_dirty_bitmap_alloc(struct kagami_vm *vm, u64 npages)
{
	unsigned long *bitmap = kvzalloc(2 * kagami_dirty_bitmap_bytes(npages),
					 GFP_KERNEL_ACCOUNT | __GFP_NOWARN);

	if (!bitmap)
		return NULL;
	atomic_inc(&kagami_stats.bitmaps);
	/* As KVM: with INITIALLY_SET, every page starts dirty (and writable). */
	if (vm->manual_dirty_log_protect & KVM_DIRTY_LOG_INITIALLY_SET)
		bitmap_set(bitmap, 0, npages);
	return bitmap;
}

void kagami_dirty_bitmap_free(unsigned long *bitmap)
{
	if (!bitmap)
		return;
	kvfree(bitmap);
	atomic_dec(&kagami_stats.bitmaps);
}

static void kagami_vm_request_flush(struct kagami_vm *vm)
{
	unsigned int id;

	for (id = 0; id < KAGAMI_MAX_VCPUS; id++) {
		struct kagami_vcpu *vcpu = kagami_vm_vcpu(vm, id);

		if (vcpu)
			kagami_vcpu_request(vcpu, KAGAMI_REQ_TLB_FLUSH);
	}
}

/*
 * Each vCPU flushes its TLB before it next enters the guest, and none is in
 * the guest with an old translation when this returns: the request is seen
 * before entry (core/kick.c), the kick ends a guest already running, and
 * run_sem for writing waits for those world switches to end.
 */
void kagami_vm_flush_tlbs(struct kagami_vm *vm)
{
	kagami_vm_request_flush(vm);
	down_write(&vm->run_sem);
	up_write(&vm->run_sem);
}

/*
 * Logging starts on slot (vm->lock held; its bitmap is set): tracking is per
 * 4 KiB page from now on. As KVM, with INITIALLY_SET nothing is protected
 * until the first KVM_CLEAR_DIRTY_LOG. Dropping a 2 MiB mapping unpins its
 * pages, so no vCPU may be in the guest meanwhile (as for a slot deleted).
 */
void kagami_dirty_log_start(struct kagami_vm *vm, struct kagami_memslot *slot)
{
	bool protect = !(vm->manual_dirty_log_protect & KVM_DIRTY_LOG_INITIALLY_SET);

	kagami_vm_request_flush(vm);
	down_write(&vm->run_sem);
	kagami_vendor->dirty_log_start(vm, slot, protect);
	up_write(&vm->run_sem);
}

/*
 * Logging stopped on slot (vm->lock held; its bitmap is gone): mappings split
 * for it may be 2 MiB ones again. Dropping unpins, so no vCPU may be in the
 * guest meanwhile.
 */
void kagami_dirty_log_stop(struct kagami_vm *vm, struct kagami_memslot *slot)
{
	kagami_vm_request_flush(vm);
	down_write(&vm->run_sem);
	kagami_vendor->dirty_log_stop(vm, slot);
	up_write(&vm->run_sem);
}

void kagami_mark_slot_page_dirty(struct kagami_memslot *slot, u64 gfn)
{
	if (slot->dirty_bitmap)
		__set_bit(gfn - slot->base_gfn, slot->dirty_bitmap);
}

/* KVM's mark_page_dirty(): the module itself wrote guest page gpa (after the write). */
void kagami_mark_page_dirty(struct kagami_vm *vm, u64 gpa)
{
	u64 gfn = gpa >> PAGE_SHIFT;
	int i;

	mutex_lock(&vm->lock);
	for (i = 0; i < KAGAMI_MAX_MEMSLOTS; i++) {
		struct kagami_memslot *s = &vm->slots[i];

		if (s->npages && gfn >= s->base_gfn && gfn - s->base_gfn < s->npages) {
			kagami_mark_slot_page_dirty(s, gfn);
			break;
		}
	}
	mutex_unlock(&vm->lock);
}

static bool kagami_dirty_log_id_valid(u32 slot_arg)
{
	return (slot_arg >> 16) < KAGAMI_KVM_ADDRESS_SPACES &&
	       (u16)slot_arg < KAGAMI_KVM_USER_MEM_SLOTS;
}

/* The logging slot a dirty-log ioctl names, with KVM's errors; vm->lock held. */
static int kagami_dirty_log_slot(struct kagami_vm *vm, u32 slot_arg,
				 struct kagami_memslot **slot)
{
	u32 id = (u16)slot_arg;

	if (!kagami_dirty_log_id_valid(slot_arg))
		return -EINVAL;
	/* Address space 1 (SMM) and ids above kagami's are valid, and hold no slot. */
	if ((slot_arg >> 16) || id >= KAGAMI_MAX_MEMSLOTS || !vm->slots[id].dirty_bitmap)
		return -ENOENT;
	*slot = &vm->slots[id];
	return 0;
}

/*
 * KVM_GET_DIRTY_LOG. Without manual protect, the pages returned are clean
 * again and write-protected. Unlike KVM, the bitmap is copied out before it
 * is cleared, so a bitmap pointer that faults loses no dirty page.
 */
static long kagami_get_dirty_log(struct kagami_vm *vm, const struct kvm_dirty_log *log)
{
	struct kagami_memslot *slot;
	unsigned long i, words;
	bool flush = false;
	long r;

	mutex_lock(&vm->lock);
	r = kagami_dirty_log_slot(vm, log->slot, &slot);
	if (r)
		goto out;
	words = kagami_dirty_bitmap_bytes(slot->npages) / sizeof(long);
	if (copy_to_user(log->dirty_bitmap, slot->dirty_bitmap, words * sizeof(long))) {
		r = -EFAULT;
		goto out;
	}
	if (vm->manual_dirty_log_protect)
		goto out;
	for (i = 0; i < words; i++) {
		if (!slot->dirty_bitmap[i])
			continue;
		kagami_vendor->write_protect(vm, slot, i * BITS_PER_LONG, slot->dirty_bitmap[i]);
		slot->dirty_bitmap[i] = 0;
		flush = true;
	}
	if (flush)
		kagami_vm_flush_tlbs(vm);
out:
	mutex_unlock(&vm->lock);
	return r;
}

/* KVM_CLEAR_DIRTY_LOG: KVM's checks, in its order; the bits given are cleared and protected. */
static long kagami_clear_dirty_log(struct kagami_vm *vm, const struct kvm_clear_dirty_log *log)
{
	unsigned long i, words, *buffer;
	struct kagami_memslot *slot;
	bool flush = false;
	long r;

	/* As KVM: a bad slot id, then a first page not a multiple of 64, then no log. */
	if (kagami_dirty_log_id_valid(log->slot) && (log->first_page & 63))
		return -EINVAL;
	mutex_lock(&vm->lock);
	r = kagami_dirty_log_slot(vm, log->slot, &slot);
	if (r)
		goto out;
	if (log->first_page > slot->npages || log->num_pages > slot->npages - log->first_page ||
	    (log->num_pages < slot->npages - log->first_page && (log->num_pages & 63))) {
		r = -EINVAL;
		goto out;
	}
	words = DIV_ROUND_UP(log->num_pages, BITS_PER_LONG);
	buffer = slot->dirty_bitmap + kagami_dirty_bitmap_bytes(slot->npages) / sizeof(long);
	if (copy_from_user(buffer, log->dirty_bitmap, words * sizeof(long))) {
		r = -EFAULT;
		goto out;
	}
	for (i = 0; i < words; i++) {
		unsigned long *word = &slot->dirty_bitmap[log->first_page / BITS_PER_LONG + i];
		/* Bits past the slot's end are never set in the log: they clear nothing. */
		unsigned long cleared = buffer[i] & *word;

		if (!cleared)
			continue;
		*word &= ~cleared;
		kagami_vendor->write_protect(vm, slot, log->first_page + i * BITS_PER_LONG, cleared);
		flush = true;
	}
	if (flush)
		kagami_vm_flush_tlbs(vm);
out:
	mutex_unlock(&vm->lock);
	return r;
}

/* KVM_GET_DIRTY_LOG or KVM_CLEAR_DIRTY_LOG on the VM fd. */
long kagami_dirty_log_ioctl(struct kagami_vm *vm, unsigned int cmd, void __user *argp)
{
	struct kvm_clear_dirty_log clear;
	struct kvm_dirty_log get;

	if (cmd == KVM_GET_DIRTY_LOG) {
		if (copy_from_user(&get, argp, sizeof(get)))
			return -EFAULT;
		return kagami_get_dirty_log(vm, &get);
	}
	if (copy_from_user(&clear, argp, sizeof(clear)))
		return -EFAULT;
	return kagami_clear_dirty_log(vm, &clear);
}

/* KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2), as KVM: any time, 0 turns it off. */
int kagami_dirty_log_enable_cap(struct kagami_vm *vm, const struct kvm_enable_cap *cap)
{
	u64 allowed = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;

	/* INITIALLY_SET only together with MANUAL_PROTECT_ENABLE. */
	if (cap->args[0] & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)
		allowed = KAGAMI_DIRTY_LOG_MANUAL_CAPS;
	if (cap->flags || (cap->args[0] & ~allowed))
		return -EINVAL;
	mutex_lock(&vm->lock);
	vm->manual_dirty_log_protect = cap->args[0];
	mutex_unlock(&vm->lock);
	return 0;
}
