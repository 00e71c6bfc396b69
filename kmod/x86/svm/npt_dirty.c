// SPDX-License-Identifier: GPL-2.0
/* npt_dirty.c: dirty logging in the nested page table: write protection and its faults. */
#include <linux/bitops.h>
#include <linux/minmax.h>
#include <linux/mm.h>

#include "x86/svm/npt.h"

/*
 * A write to a page mapped read-only because dirty logging protected it
 * (vm->lock held): log it and let the guest write. No flush: the fault
 * already dropped the read-only translation from the TLB. 1 when handled;
 * 0 when nothing maps gpa.
 */
int npt_unprotect(struct kagami_vm *vm, struct kagami_memslot *slot, u64 gpa)
{
	u64 *leaf;
	int level;

	leaf = npt_leaf(vm->vendor, gpa, &level);
	if (!leaf)
		return 0;
	if ((*leaf & NPT_HOST_W) && !(*leaf & NPT_RW)) {
		WRITE_ONCE(*leaf, *leaf | NPT_RW);
		kagami_mark_slot_page_dirty(slot, gpa >> PAGE_SHIFT);
	}
	return 1;	/* or another vCPU mapped it meanwhile */
}

/* The level-2 entry covering gpa (vm->lock held), or NULL when no level-2 table covers it. */
static u64 *npt_pde(struct svm_vm *svm_vm, u64 gpa)
{
	u64 *table = svm_vm->npt_root;
	u64 *entry;
	int level;

	for (level = NPT_LEVELS; level > 2; level--) {
		entry = npt_entry(table, gpa, level);
		if (!(*entry & NPT_P))
			return NULL;
		table = __va(*entry & NPT_ADDR);
	}
	return npt_entry(table, gpa, 2);
}

/*
 * Logging starts on slot (vm->lock and run_sem held, every vCPU to flush): its
 * 2 MiB leaves go (their pages fault back in as 4 KiB ones), and with protect
 * every 4 KiB leaf loses NPT_RW.
 */
void svm_dirty_log_start(struct kagami_vm *vm, const struct kagami_memslot *slot,
			 bool protect)
{
	u64 end = slot->base_gfn + slot->npages;
	u64 gfn, next, *pde, *ptes;

	for (gfn = slot->base_gfn; gfn < end; gfn = next) {
		next = min(ALIGN(gfn + 1, NPT_HUGE_PAGES), end);
		pde = npt_pde(vm->vendor, gfn << PAGE_SHIFT);
		if (!pde || !(*pde & NPT_P))
			continue;
		if (*pde & NPT_PS) {
			u64 leaf = *pde;

			WRITE_ONCE(*pde, 0);
			npt_unpin(leaf, NPT_HUGE_PAGES);
			continue;
		}
		ptes = __va(*pde & NPT_ADDR);
		for (; protect && gfn < next; gfn++)
			WRITE_ONCE(ptes[gfn & 511], ptes[gfn & 511] & ~NPT_RW);
	}
}

/*
 * Whether the 4 KiB leaves of this table may become one 2 MiB leaf again: the
 * VMM's page behind the first one mapped is part of a huge page (the fault
 * path checks the whole run when it maps again; memory without huge pages
 * keeps its leaves rather than fault them all back in).
 */
static bool npt_leaves_collapsible(const u64 *ptes)
{
	struct folio *folio;
	int i;

	for (i = 0; i < PTRS_PER_PTE; i++) {
		if (!(ptes[i] & NPT_P))
			continue;
		folio = page_folio(pfn_to_page((ptes[i] & NPT_ADDR) >> PAGE_SHIFT));
		return folio_test_large(folio) && folio_size(folio) >= PMD_SIZE;
	}
	return false;
}

/*
 * Logging stopped on slot (vm->lock and run_sem held, every vCPU to flush):
 * as KVM's recovery of huge pages, each table of 4 KiB leaves that covers
 * 2 MiB of the slot backed by a huge page goes, so that its pages fault back
 * in as one 2 MiB leaf. The write protection goes with it.
 */
void svm_dirty_log_stop(struct kagami_vm *vm, const struct kagami_memslot *slot)
{
	u64 end = slot->base_gfn + slot->npages;
	u64 gfn = ALIGN(slot->base_gfn, NPT_HUGE_PAGES);
	u64 *pde;

	for (; gfn + NPT_HUGE_PAGES <= end; gfn += NPT_HUGE_PAGES) {
		pde = npt_pde(vm->vendor, gfn << PAGE_SHIFT);
		if (!pde || !(*pde & NPT_P) || (*pde & NPT_PS))
			continue;
		if (npt_leaves_collapsible(__va(*pde & NPT_ADDR)))
			npt_drop_leaf_table(pde);
	}
}

/* The pages slot->base_gfn + first + each bit of mask lose NPT_RW (vm->lock held). */
void svm_write_protect(struct kagami_vm *vm, const struct kagami_memslot *slot, u64 first,
		       unsigned long mask)
{
	u64 *leaf;
	int bit, level;

	for_each_set_bit(bit, &mask, BITS_PER_LONG) {
		u64 gpa = (slot->base_gfn + first + bit) << PAGE_SHIFT;

		leaf = npt_leaf(vm->vendor, gpa, &level);
		if (leaf && level == 1)
			WRITE_ONCE(*leaf, *leaf & ~NPT_RW);
	}
}
