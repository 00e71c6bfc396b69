// SPDX-License-Identifier: GPL-2.0
/* npt.c: the VM's nested page table: 4 KiB and 2 MiB mappings built on nested page faults. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <asm/io.h>
#include <asm/msr.h>

#include "x86/svm/npt.h"

static u64 *npt_alloc_table(void)
{
	u64 *table = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

	if (table)
		atomic_inc(&kagami_stats.pages);
	return table;
}

static void npt_free_table(u64 *table)
{
	free_page((unsigned long)table);
	atomic_dec(&kagami_stats.pages);
}

void npt_unpin(u64 leaf, unsigned long npages)
{
	struct page *page = pfn_to_page((leaf & NPT_ADDR) >> PAGE_SHIFT);

	/* Written, or writable before dirty logging protected it. */
	unpin_user_page_range_dirty_lock(page, npages, leaf & (NPT_RW | NPT_HOST_W));
	atomic_sub(npages, &kagami_stats.pinned);
	if (npages > 1)
		atomic_dec(&kagami_stats.huge);
}

/* Frees every table below this one and unpins every page it maps. */
static void npt_clear_level(u64 *table, int level)
{
	int i;

	for (i = 0; i < PTRS_PER_PTE; i++) {
		u64 entry = table[i];

		if (!(entry & NPT_P))
			continue;
		table[i] = 0;
		if (level == 1 || (entry & NPT_PS)) {
			npt_unpin(entry, level == 1 ? 1 : NPT_HUGE_PAGES);
			continue;
		}
		npt_clear_level(__va(entry & NPT_ADDR), level - 1);
		npt_free_table(__va(entry & NPT_ADDR));
	}
}

/*
 * The level-2 entry pde points to a table of 4 KiB leaves: unpin them, free
 * the table and clear pde (vm->lock held, no vCPU in the guest).
 */
void npt_drop_leaf_table(u64 *pde)
{
	u64 *table = __va(*pde & NPT_ADDR);

	WRITE_ONCE(*pde, 0);
	npt_clear_level(table, 1);
	npt_free_table(table);
}

int svm_vm_init(struct kagami_vm *vm)
{
	struct svm_vm *svm_vm = kzalloc(sizeof(*svm_vm), GFP_KERNEL_ACCOUNT);

	if (!svm_vm)
		return -ENOMEM;
	svm_vm->npt_root = npt_alloc_table();
	if (!svm_vm->npt_root) {
		kfree(svm_vm);
		return -ENOMEM;
	}
	svm_vm->npt_root_pa = __pa(svm_vm->npt_root);
	svm_vm->huge_pages = kmalloc_array(NPT_HUGE_PAGES, sizeof(struct page *),
					   GFP_KERNEL_ACCOUNT);
	if (!svm_vm->huge_pages) {
		npt_free_table(svm_vm->npt_root);
		kfree(svm_vm);
		return -ENOMEM;
	}
	/* As KVM's kvm_synchronize_tsc(): the vCPUs' TSCs start near 0 and in step. */
	svm_vm->tsc_offset = -rdtsc();
	vm->vendor = svm_vm;
	return 0;
}

/* No vCPU is left, so no CPU can use the tables. */
void svm_vm_destroy(struct kagami_vm *vm)
{
	struct svm_vm *svm_vm = vm->vendor;

	if (!svm_vm)
		return;
	npt_clear_level(svm_vm->npt_root, NPT_LEVELS);
	npt_free_table(svm_vm->npt_root);
	kfree(svm_vm->huge_pages);
	kfree(svm_vm);
	vm->vendor = NULL;
}

/*
 * A slot goes away or moves (vm->lock held): wait until no vCPU is in the
 * guest (run_sem), drop every mapping and unpin every page, and make each vCPU
 * flush its TLB before its next VMRUN. The table is rebuilt lazily on faults.
 */
void svm_memslots_changed(struct kagami_vm *vm)
{
	struct svm_vm *svm_vm = vm->vendor;

	down_write(&vm->run_sem);
	npt_clear_level(svm_vm->npt_root, NPT_LEVELS);
	vm->npt_generation++;
	up_write(&vm->run_sem);
}

/*
 * The leaf that maps gpa (vm->lock held) and its level, 1 or 2; NULL when
 * nothing maps it.
 */
u64 *npt_leaf(struct svm_vm *svm_vm, u64 gpa, int *level)
{
	u64 *table = svm_vm->npt_root;
	u64 *entry;

	for (*level = NPT_LEVELS; ; (*level)--) {
		entry = npt_entry(table, gpa, *level);
		if (!(*entry & NPT_P))
			return NULL;
		if (*level == 1 || (*entry & NPT_PS))
			return entry;
		table = __va(*entry & NPT_ADDR);
	}
}

/*
 * Installs gpa -> hpa as a leaf at leaf_level, 1 (4 KiB) or 2 (2 MiB), with
 * vm->lock held; rights are NPT_RW and NPT_HOST_W or neither. 0, -EEXIST if
 * something maps gpa at that level already (a 2 MiB leaf, or for a 2 MiB leaf
 * a table of 4 KiB ones), or -ENOMEM.
 */
static int npt_map(struct svm_vm *svm_vm, u64 gpa, u64 hpa, u64 rights, int leaf_level)
{
	u64 *table = svm_vm->npt_root;
	u64 *entry;
	int level;

	for (level = NPT_LEVELS; level > leaf_level; level--) {
		entry = npt_entry(table, gpa, level);
		if (*entry & NPT_PS)
			return -EEXIST;
		if (!(*entry & NPT_P)) {
			u64 *next = npt_alloc_table();

			if (!next)
				return -ENOMEM;
			*entry = __pa(next) | NPT_TABLE;
		}
		table = __va(*entry & NPT_ADDR);
	}
	entry = npt_entry(table, gpa, leaf_level);
	if (*entry & NPT_P)
		return -EEXIST;
	*entry = hpa | NPT_P | NPT_US | NPT_A | NPT_D | rights | (leaf_level == 2 ? NPT_PS : 0);
	return 0;
}

static struct kagami_memslot *npt_find_slot(struct kagami_vm *vm, u64 gfn)
{
	int i;

	for (i = 0; i < KAGAMI_MAX_MEMSLOTS; i++) {
		struct kagami_memslot *s = &vm->slots[i];

		if (s->npages && gfn >= s->base_gfn && gfn - s->base_gfn < s->npages)
			return s;
	}
	return NULL;
}

static unsigned long npt_slot_hva(const struct kagami_memslot *slot, u64 gfn)
{
	return slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);
}

/*
 * The 2 MiB around gpa in one leaf, when the VMM's memory there is one
 * physically contiguous, 2 MiB-aligned run of pages (a transparent or
 * hugetlbfs huge page: the faulting page's folio says whether to try, so that
 * ordinary memory is not faulted in 2 MiB at a time). All 512 pages are
 * pinned, so each guest page maps exactly the page the VMM has at that
 * address. 0 when mapped, else nothing changed and the caller maps 4 KiB.
 */
static int npt_map_huge(struct kagami_vm *vm, const struct kagami_memslot *slot, u64 gpa,
			struct page *faulting, unsigned int gup_flags)
{
	struct folio *folio = page_folio(faulting);
	struct svm_vm *svm_vm = vm->vendor;
	struct page **pages = svm_vm->huge_pages;
	u64 gfn = (gpa >> PAGE_SHIFT) & ~(u64)(NPT_HUGE_PAGES - 1);
	unsigned long pfn;
	int i, n;

	/* Dirty logging tracks 4 KiB pages. */
	if (slot->dirty_bitmap || !folio_test_large(folio) || folio_size(folio) < PMD_SIZE)
		return -ENOENT;
	if (gfn < slot->base_gfn || gfn + NPT_HUGE_PAGES > slot->base_gfn + slot->npages)
		return -ENOENT;
	n = pin_user_pages_fast(npt_slot_hva(slot, gfn), NPT_HUGE_PAGES, gup_flags, pages);
	if (n <= 0)
		return -ENOENT;
	pfn = page_to_pfn(pages[0]);
	for (i = 0; i < n; i++)
		if (page_to_pfn(pages[i]) != pfn + i)
			break;
	if (i == NPT_HUGE_PAGES && IS_ALIGNED(pfn, NPT_HUGE_PAGES) &&
	    !npt_map(svm_vm, gfn << PAGE_SHIFT, PFN_PHYS(pfn),
		     gup_flags & FOLL_WRITE ? NPT_RW | NPT_HOST_W : 0, 2)) {
		atomic_add(NPT_HUGE_PAGES, &kagami_stats.pinned);
		atomic_inc(&kagami_stats.huge);
		return 0;
	}
	unpin_user_pages(pages, n);
	return -ENOENT;
}

/*
 * Pins the VMM page behind gpa and maps it (vm->lock held). The pin keeps the
 * page for as long as the mapping exists, even if the VMM unmaps it: the
 * guest then keeps the old page, never freed memory. A page of a writable
 * slot is pinned writable; in a logging slot it is mapped writable, and
 * logged dirty, only for a write.
 */
static int npt_map_slot_page(struct kagami_vm *vm, struct kagami_memslot *slot, u64 gpa,
			     bool write)
{
	unsigned long hva = npt_slot_hva(slot, gpa >> PAGE_SHIFT);
	bool writable = !(slot->flags & KVM_MEM_READONLY);
	unsigned int gup_flags = FOLL_LONGTERM | (writable ? FOLL_WRITE : 0);
	u64 rights = writable ? NPT_HOST_W : 0;
	struct page *page;
	int r;

	if (writable && (write || !slot->dirty_bitmap))
		rights |= NPT_RW;

	r = pin_user_pages_fast(hva, 1, gup_flags, &page);
	if (r != 1)
		return r < 0 ? r : -EFAULT;
	if (!npt_map_huge(vm, slot, gpa, page, gup_flags)) {
		unpin_user_page(page);
		return 0;
	}
	atomic_inc(&kagami_stats.pinned);
	r = npt_map(vm->vendor, gpa & PAGE_MASK, page_to_phys(page), rights, 1);
	if (r) {
		unpin_user_page(page);
		atomic_dec(&kagami_stats.pinned);
	} else if (write) {
		kagami_mark_slot_page_dirty(slot, gpa >> PAGE_SHIFT);
	}
	return r == -EEXIST ? 0 : r;
}

/* Exit 0x400: EXITINFO2 is the guest-physical address, EXITINFO1 the error code. */
int svm_handle_npf(struct kagami_vcpu *vcpu)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;
	bool write = c->exit_info_1 & SVM_NPF_WRITE;
	struct kagami_vm *vm = vcpu->vm;
	struct kagami_memslot *slot;
	u64 gpa = c->exit_info_2;
	int r;

	if (gpa >> NPT_GPA_BITS)
		return svm_emulate_mmio(vcpu, gpa);
	mutex_lock(&vm->lock);
	slot = npt_find_slot(vm, gpa >> PAGE_SHIFT);
	if (!slot || (write && (slot->flags & KVM_MEM_READONLY))) {
		/* Not RAM, or a write to ROM: the VMM emulates it, as KVM. */
		mutex_unlock(&vm->lock);
		return svm_emulate_mmio(vcpu, gpa);
	}
	if (npt_unprotect(vm, slot, gpa)) {
		mutex_unlock(&vm->lock);
		return 1;
	}
	r = npt_map_slot_page(vm, slot, gpa, write);
	mutex_unlock(&vm->lock);
	if (r == -EFAULT || r == -ENOMEM || r == -EINTR)
		return r;
	if (r) {
		vcpu->run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
		vcpu->run->internal.suberror = KVM_INTERNAL_ERROR_DELIVERY_EV;
		vcpu->run->internal.ndata = 2;
		vcpu->run->internal.data[0] = gpa;
		vcpu->run->internal.data[1] = (u64)r;
		return 0;
	}
	return 1;
}
