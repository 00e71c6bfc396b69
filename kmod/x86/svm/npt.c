// SPDX-License-Identifier: GPL-2.0
/* npt.c: the VM's nested page table: 4 KiB mappings built on nested page faults, pinned pages. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <asm/io.h>
#include <asm/msr.h>

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
#define NPT_ADDR	GENMASK_ULL(51, 12)
#define NPT_TABLE	(NPT_P | NPT_RW | NPT_US | NPT_A)
#define NPT_LEVELS	4
#define NPT_GPA_BITS	48

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

static void npt_unpin(u64 leaf)
{
	struct page *page = pfn_to_page((leaf & NPT_ADDR) >> PAGE_SHIFT);

	unpin_user_pages_dirty_lock(&page, 1, leaf & NPT_RW);
	atomic_dec(&kagami_stats.pinned);
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
		if (level == 1) {
			npt_unpin(entry);
			continue;
		}
		npt_clear_level(__va(entry & NPT_ADDR), level - 1);
		npt_free_table(__va(entry & NPT_ADDR));
	}
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

/* Installs gpa -> hpa (vm->lock held). 0, -EEXIST if mapped already, or -ENOMEM. */
static int npt_map(struct svm_vm *svm_vm, u64 gpa, u64 hpa, bool writable)
{
	u64 *table = svm_vm->npt_root;
	int level;

	for (level = NPT_LEVELS; level > 1; level--) {
		u64 *entry = &table[(gpa >> (PAGE_SHIFT + 9 * (level - 1))) & 511];

		if (!(*entry & NPT_P)) {
			u64 *next = npt_alloc_table();

			if (!next)
				return -ENOMEM;
			*entry = __pa(next) | NPT_TABLE;
		}
		table = __va(*entry & NPT_ADDR);
	}
	table += (gpa >> PAGE_SHIFT) & 511;
	if (*table & NPT_P)
		return -EEXIST;
	*table = hpa | NPT_P | NPT_US | NPT_A | NPT_D | (writable ? NPT_RW : 0);
	return 0;
}

static const struct kagami_memslot *npt_find_slot(struct kagami_vm *vm, u64 gfn)
{
	int i;

	for (i = 0; i < KAGAMI_MAX_MEMSLOTS; i++) {
		const struct kagami_memslot *s = &vm->slots[i];

		if (s->npages && gfn >= s->base_gfn && gfn - s->base_gfn < s->npages)
			return s;
	}
	return NULL;
}

/*
 * Pins the VMM page behind gpa and maps it (vm->lock held). The pin keeps the
 * page for as long as the mapping exists, even if the VMM unmaps it: the
 * guest then keeps the old page, never freed memory.
 */
static int npt_map_slot_page(struct kagami_vm *vm, const struct kagami_memslot *slot, u64 gpa)
{
	unsigned long hva = slot->userspace_addr +
			    (((gpa >> PAGE_SHIFT) - slot->base_gfn) << PAGE_SHIFT);
	bool writable = !(slot->flags & KVM_MEM_READONLY);
	struct page *page;
	int r;

	r = pin_user_pages_fast(hva, 1, FOLL_LONGTERM | (writable ? FOLL_WRITE : 0), &page);
	if (r != 1)
		return r < 0 ? r : -EFAULT;
	atomic_inc(&kagami_stats.pinned);
	r = npt_map(vm->vendor, gpa & PAGE_MASK, page_to_phys(page), writable);
	if (r) {
		unpin_user_page(page);
		atomic_dec(&kagami_stats.pinned);
	}
	return r == -EEXIST ? 0 : r;
}

/* Exit 0x400: EXITINFO2 is the guest-physical address, EXITINFO1 the error code. */
int svm_handle_npf(struct kagami_vcpu *vcpu)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;
	struct kagami_vm *vm = vcpu->vm;
	const struct kagami_memslot *slot;
	u64 gpa = c->exit_info_2;
	int r;

	if (gpa >> NPT_GPA_BITS)
		return svm_emulate_mmio(vcpu, gpa);
	mutex_lock(&vm->lock);
	slot = npt_find_slot(vm, gpa >> PAGE_SHIFT);
	if (!slot || ((c->exit_info_1 & SVM_NPF_WRITE) && (slot->flags & KVM_MEM_READONLY))) {
		/* Not RAM, or a write to ROM: the VMM emulates it, as KVM. */
		mutex_unlock(&vm->lock);
		return svm_emulate_mmio(vcpu, gpa);
	}
	r = npt_map_slot_page(vm, slot, gpa);
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
