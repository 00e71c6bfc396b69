// SPDX-License-Identifier: GPL-2.0
/* walk.c: guest memory by guest-physical address, and the guest's page-table walk. */
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include "core/kagami.h"

#define PTE_P		BIT_ULL(0)
#define PTE_PS		BIT_ULL(7)
#define PTE_ADDR	GENMASK_ULL(51, 12)

/* The VMM address of gpa, or -ENOENT outside every slot (-EPERM: write to a read-only one). */
int kagami_gpa_to_hva(struct kagami_vm *vm, u64 gpa, bool write, unsigned long *hva)
{
	u64 gfn = gpa >> PAGE_SHIFT;
	int r = -ENOENT;
	int i;

	mutex_lock(&vm->lock);
	for (i = 0; i < KAGAMI_MAX_MEMSLOTS; i++) {
		const struct kagami_memslot *s = &vm->slots[i];

		if (!s->npages || gfn < s->base_gfn || gfn - s->base_gfn >= s->npages)
			continue;
		if (write && (s->flags & KVM_MEM_READONLY)) {
			r = -EPERM;
			break;
		}
		*hva = s->userspace_addr + ((gfn - s->base_gfn) << PAGE_SHIFT) +
		       (gpa & ~PAGE_MASK);
		r = 0;
		break;
	}
	mutex_unlock(&vm->lock);
	return r;
}

/* Reads guest RAM within one page. */
int kagami_read_gpa(struct kagami_vm *vm, u64 gpa, void *buf, unsigned int len)
{
	unsigned long hva;
	int r;

	if ((gpa & ~PAGE_MASK) + len > PAGE_SIZE)
		return -EINVAL;
	r = kagami_gpa_to_hva(vm, gpa, false, &hva);
	if (r)
		return r;
	return copy_from_user(buf, (const void __user *)hva, len) ? -EFAULT : 0;
}

static int read_pte(struct kagami_vm *vm, u64 gpa, unsigned int size, u64 *pte)
{
	*pte = 0;
	return kagami_read_gpa(vm, gpa, pte, size);
}

/*
 * Translates a linear address as the guest's MMU would, without checking
 * permissions (the access already passed them, or it would not have exited).
 * -EFAULT when an entry is not present; -ENOENT when a table is not RAM.
 */
int kagami_gva_to_gpa(struct kagami_vm *vm, const struct kagami_paging *p, u64 gva, u64 *gpa)
{
	bool long_mode = p->efer & EFER_LMA;
	int levels, level, r;
	u64 table, pte;

	if (!(p->cr0 & X86_CR0_PG)) {
		*gpa = long_mode ? gva : (u32)gva;
		return 0;
	}
	if (!(p->cr4 & X86_CR4_PAE)) {
		/* 32-bit paging: two levels of 4-byte entries, 4 MiB pages with CR4.PSE. */
		gva = (u32)gva;
		r = read_pte(vm, (p->cr3 & 0xfffff000) + ((gva >> 22) << 2), 4, &pte);
		if (r)
			return r;
		if (!(pte & PTE_P))
			return -EFAULT;
		if ((pte & PTE_PS) && (p->cr4 & X86_CR4_PSE)) {
			*gpa = (pte & 0xffc00000) | (gva & 0x3fffff);
			return 0;
		}
		r = read_pte(vm, (pte & 0xfffff000) + (((gva >> 12) & 0x3ff) << 2), 4, &pte);
		if (r)
			return r;
		if (!(pte & PTE_P))
			return -EFAULT;
		*gpa = (pte & 0xfffff000) | (gva & 0xfff);
		return 0;
	}
	if (p->cr4 & X86_CR4_LA57)
		return -EOPNOTSUPP;
	if (long_mode) {
		levels = 4;
		table = p->cr3 & PTE_ADDR;
	} else {
		/* PAE: the PDPTE comes from the 32-byte table at CR3. */
		gva = (u32)gva;
		r = read_pte(vm, (p->cr3 & 0xffffffe0) + ((gva >> 30) << 3), 8, &pte);
		if (r)
			return r;
		if (!(pte & PTE_P))
			return -EFAULT;
		levels = 2;
		table = pte & PTE_ADDR;
	}
	for (level = levels; level >= 1; level--) {
		unsigned int shift = PAGE_SHIFT + 9 * (level - 1);

		r = read_pte(vm, table + (((gva >> shift) & 511) << 3), 8, &pte);
		if (r)
			return r;
		if (!(pte & PTE_P))
			return -EFAULT;
		if (level == 1 || ((pte & PTE_PS) && level <= 3)) {
			u64 mask = (1ULL << shift) - 1;

			*gpa = ((pte & PTE_ADDR) & ~mask) | (gva & mask);
			return 0;
		}
		table = pte & PTE_ADDR;
	}
	return -EFAULT;
}

/* Reads or writes guest RAM by linear address, page by page. */
int kagami_access_linear(struct kagami_vm *vm, const struct kagami_paging *p, u64 gva,
			 void *buf, unsigned int len, bool write)
{
	while (len) {
		unsigned int chunk = min_t(unsigned int, len, PAGE_SIZE - (gva & ~PAGE_MASK));
		unsigned long hva;
		u64 gpa;
		int r;

		r = kagami_gva_to_gpa(vm, p, gva, &gpa);
		if (r)
			return r;
		r = kagami_gpa_to_hva(vm, gpa, write, &hva);
		if (r)
			return r;
		if (write)
			r = copy_to_user((void __user *)hva, buf, chunk) ? -EFAULT : 0;
		else
			r = copy_from_user(buf, (const void __user *)hva, chunk) ? -EFAULT : 0;
		if (r)
			return r;
		/* After the write, as KVM: a log read in between sees it again. */
		if (write)
			kagami_mark_page_dirty(vm, gpa);
		gva += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}
