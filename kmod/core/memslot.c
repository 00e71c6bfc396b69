// SPDX-License-Identifier: GPL-2.0
/* memslot.c: KVM_SET_USER_MEMORY_REGION: KVM's validation and create/delete/move/flags. */
#include <linux/mm.h>
#include <linux/uaccess.h>

#include "core/kagami.h"

#define KAGAMI_MEMSLOT_FLAGS	(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)

/* The checks of KVM's __kvm_set_memory_region(), in its order and with its errors. */
static int kagami_memslot_validate(const struct kvm_userspace_memory_region *mem)
{
	if (mem->flags & ~KAGAMI_MEMSLOT_FLAGS)
		return -EINVAL;
	if (mem->memory_size & (PAGE_SIZE - 1))
		return -EINVAL;
	if (mem->guest_phys_addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if ((mem->userspace_addr & (PAGE_SIZE - 1)) ||
	    mem->userspace_addr != untagged_addr(mem->userspace_addr) ||
	    !access_ok((void __user *)(unsigned long)mem->userspace_addr, mem->memory_size))
		return -EINVAL;
	/* Address space 0 only: kagami has no SMM address space. */
	if ((mem->slot >> 16) || (u16)mem->slot >= KAGAMI_MAX_MEMSLOTS)
		return -EINVAL;
	if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr)
		return -EINVAL;
	if ((mem->memory_size >> PAGE_SHIFT) > KAGAMI_MAX_SLOT_PAGES)
		return -EINVAL;
	return 0;
}

static bool kagami_memslot_overlaps(struct kagami_vm *vm, unsigned int id, u64 base_gfn,
				    u64 npages)
{
	unsigned int i;

	for (i = 0; i < KAGAMI_MAX_MEMSLOTS; i++) {
		const struct kagami_memslot *s = &vm->slots[i];

		if (i != id && s->npages && base_gfn < s->base_gfn + s->npages &&
		    s->base_gfn < base_gfn + npages)
			return true;
	}
	return false;
}

/*
 * The dirty bitmap the slot has with these flags: none without
 * KVM_MEM_LOG_DIRTY_PAGES, the slot's own while it keeps logging (as KVM, a
 * moved slot keeps its log), else a new one. -ENOMEM changes nothing.
 */
static int kagami_memslot_bitmap(struct kagami_vm *vm, const struct kagami_memslot *slot,
				 u32 flags, u64 npages, unsigned long **bitmap)
{
	*bitmap = NULL;
	if (!(flags & KVM_MEM_LOG_DIRTY_PAGES))
		return 0;
	*bitmap = slot->dirty_bitmap ? slot->dirty_bitmap : kagami_dirty_bitmap_alloc(vm, npages);
	return *bitmap ? 0 : -ENOMEM;
}

static void kagami_memslot_replace_bitmap(struct kagami_memslot *slot, unsigned long *bitmap)
{
	if (slot->dirty_bitmap != bitmap)
		kagami_dirty_bitmap_free(slot->dirty_bitmap);
	slot->dirty_bitmap = bitmap;
}

/* Only the flags of a mapped slot change: logging starts or stops in place. */
static int kagami_memslot_set_flags(struct kagami_vm *vm, struct kagami_memslot *slot, u32 flags)
{
	bool was_logging = slot->dirty_bitmap;
	unsigned long *bitmap;
	int r;

	r = kagami_memslot_bitmap(vm, slot, flags, slot->npages, &bitmap);
	if (r)
		return r;
	kagami_memslot_replace_bitmap(slot, bitmap);
	slot->flags = flags;
	/*
	 * On stopping, a write-protected page that stays mapped takes one more
	 * fault, which makes it writable again.
	 */
	if (bitmap && !was_logging)
		kagami_dirty_log_start(vm, slot);
	else if (!bitmap && was_logging)
		kagami_dirty_log_stop(vm, slot);
	return 0;
}

/*
 * Called with vm->lock held. Size 0 deletes; a new slot is created; an existing
 * one may move (same size and address, new guest address) or change flags,
 * except KVM_MEM_READONLY; anything else, a resize included, is -EINVAL.
 * KVM_MEM_LOG_DIRTY_PAGES gives the slot a dirty bitmap (core/dirty.c).
 * Deleting or moving a slot first drops the vendor's nested page table (and
 * its pinned pages); it is rebuilt lazily from the new slots.
 */
int kagami_memslot_set(struct kagami_vm *vm, const struct kvm_userspace_memory_region *mem)
{
	struct kagami_memslot *slot;
	unsigned long *bitmap;
	u64 base_gfn, npages;
	int r;

	r = kagami_memslot_validate(mem);
	if (r)
		return r;
	slot = &vm->slots[(u16)mem->slot];
	base_gfn = mem->guest_phys_addr >> PAGE_SHIFT;
	npages = mem->memory_size >> PAGE_SHIFT;

	if (!npages) {
		if (!slot->npages)
			return -EINVAL;
		kagami_vendor->memslots_changed(vm);
		kagami_dirty_bitmap_free(slot->dirty_bitmap);
		*slot = (struct kagami_memslot){};
		return 0;
	}
	if (slot->npages) {
		if (mem->userspace_addr != slot->userspace_addr || npages != slot->npages ||
		    ((mem->flags ^ slot->flags) & KVM_MEM_READONLY))
			return -EINVAL;
		if (base_gfn == slot->base_gfn)
			return kagami_memslot_set_flags(vm, slot, mem->flags);
	}
	if (kagami_memslot_overlaps(vm, (u16)mem->slot, base_gfn, npages))
		return -EEXIST;
	r = kagami_memslot_bitmap(vm, slot, mem->flags, npages, &bitmap);
	if (r)
		return r;
	if (slot->npages)
		kagami_vendor->memslots_changed(vm);
	kagami_memslot_replace_bitmap(slot, bitmap);
	slot->base_gfn = base_gfn;
	slot->npages = npages;
	slot->userspace_addr = mem->userspace_addr;
	slot->flags = mem->flags;
	return 0;
}
