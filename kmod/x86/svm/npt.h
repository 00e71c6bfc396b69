/* SPDX-License-Identifier: GPL-2.0 */
/* npt.h: the nested page table's entries and walks, shared by npt.c and npt_dirty.c. */
#ifndef KAGAMI_X86_SVM_NPT_H
#define KAGAMI_X86_SVM_NPT_H

#include <linux/bits.h>
#include <linux/pgtable.h>
#include <linux/types.h>

#include "x86/svm/svm.h"

/*
 * Long-mode page-table entries; the CPU walks them as user accesses, so every
 * level has U. Leaves are write-back (PAT index 0) and carry A and D so the
 * CPU never writes them.
 */
#define NPT_P		BIT_ULL(0)
#define NPT_RW		BIT_ULL(1)
#define NPT_US		BIT_ULL(2)
#define NPT_A		BIT_ULL(5)
#define NPT_D		BIT_ULL(6)
#define NPT_PS		BIT_ULL(7)	/* a 2 MiB leaf in a level-2 table */
/* Software bit: the page is pinned writable, so the leaf may become NPT_RW (dirty logging). */
#define NPT_HOST_W	BIT_ULL(9)
#define NPT_ADDR	GENMASK_ULL(51, 12)
#define NPT_TABLE	(NPT_P | NPT_RW | NPT_US | NPT_A)
#define NPT_LEVELS	4
#define NPT_GPA_BITS	48
#define NPT_HUGE_PAGES	(PMD_SIZE / PAGE_SIZE)

static inline u64 *npt_entry(u64 *table, u64 gpa, int level)
{
	return &table[(gpa >> (PAGE_SHIFT + 9 * (level - 1))) & 511];
}

/* npt.c: the leaf mapping gpa and its level (vm->lock held); a leaf's pages unpinned. */
u64 *npt_leaf(struct svm_vm *svm_vm, u64 gpa, int *level);
void npt_unpin(u64 leaf, unsigned long npages);
void npt_drop_leaf_table(u64 *pde);

/* npt_dirty.c (vm->lock held): 1 when a write fault on a mapped page is handled. */
int npt_unprotect(struct kagami_vm *vm, struct kagami_memslot *slot, u64 gpa);

#endif
