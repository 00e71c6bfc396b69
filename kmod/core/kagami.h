/* SPDX-License-Identifier: GPL-2.0 */
/* kagami.h: the core's objects (VM, vCPU, memory slot), limits and internal interfaces. */
#ifndef KAGAMI_CORE_H
#define KAGAMI_CORE_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/kvm.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/signal_types.h>
#include <linux/types.h>
#include <linux/wait.h>

#include "x86/vendor_ops.h"

#define KAGAMI_API_VERSION	12	/* KVM_GET_API_VERSION: the KVM ABI's */
#define KAGAMI_MAX_MEMSLOTS	64	/* user slot ids 0..63 in address space 0 */
#define KAGAMI_MAX_VCPUS	64	/* vCPUs per VM, and vCPU ids 0..63 */
#define KAGAMI_MAX_SLOT_PAGES	((1UL << 31) - 1)	/* KVM_MEM_MAX_NR_PAGES */

/*
 * Lifetimes: the VM fd holds one reference on the VM, each vCPU fd another
 * (through vcpu->vm); the last put destroys the VM with all its vCPUs. Each fd
 * also pins the module (fops.owner), so rmmod fails while any fd exists.
 *
 * Field tags, as bhyve does: (c) set at creation, then constant; (m) guarded
 * by vm->lock; (a) atomic.
 */

/* A guest-physical range backed by VMM memory; npages == 0 means unused. */
struct kagami_memslot {
	u64 base_gfn;		/* (m) first guest frame */
	u64 npages;		/* (m) size in pages */
	u64 userspace_addr;	/* (m) page-aligned VMM address */
	u32 flags;		/* (m) KVM_MEM_READONLY, KVM_MEM_LOG_DIRTY_PAGES */
	/*
	 * (m) core/dirty.c: one bit per page, ALIGN(npages, 64) bits, while
	 * KVM_MEM_LOG_DIRTY_PAGES is set; NULL otherwise. Bits are set and
	 * cleared with vm->lock held.
	 */
	unsigned long *dirty_bitmap;
};

struct kagami_vm {
	struct kref ref;	/* (a) VM fd + one per vCPU fd */
	struct mutex lock;	/* (c) guards (m) fields */
	struct kagami_memslot slots[KAGAMI_MAX_MEMSLOTS];	/* (m) indexed by slot id */
	struct kagami_vcpu *vcpus[KAGAMI_MAX_VCPUS];	/* (m) indexed by vCPU id */
	unsigned int nr_vcpus;	/* (m) non-NULL entries of vcpus[] */
	u64 tss_addr;		/* (m) KVM_SET_TSS_ADDR, for the vendor code */
	u64 identity_map_addr;	/* (m) KVM_SET_IDENTITY_MAP_ADDR, for the vendor code */
	struct mm_struct *mm;	/* (c) the creator's, grabbed: only it may run vCPUs */
	/*
	 * vCPUs hold run_sem for reading around each world switch; changing the
	 * nested page table's shape (slot deleted or moved) holds it for writing,
	 * so no CPU is in the guest while tables are freed.
	 */
	struct rw_semaphore run_sem;	/* (c) */
	u64 npt_generation;	/* (m, and run_sem for writing) bumped on teardown */
	void *vendor;		/* (c) vendor state: vm_init sets, vm_destroy frees */
	/*
	 * The interrupt controller model, chosen once before the first vCPU
	 * (KVM_CREATE_IRQCHIP or KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)), then
	 * constant: read without the lock by vCPUs (smp_load_acquire).
	 */
	u8 irqchip_mode;	/* (m) enum kagami_irqchip_mode */
	u32 nr_ioapic_pins;	/* (m) split: GSIs 0..n-1 belong to the userspace IOAPIC */
	u32 max_vcpu_ids;	/* (m) KVM_ENABLE_CAP(KVM_CAP_MAX_VCPU_ID), 0 = not set */
	struct kagami_irq_state *irq;	/* (c) core/irq/: routing, irqfds, ioeventfds */
	struct kagami_irqchip *irqchip;	/* (m) x86/irqchip/: in-kernel PIC + IOAPIC, or NULL */
	s64 kvmclock_offset;	/* (m) x86/clock/: guest clock ns = host boot ns + this */
	/* (m) x86/clock/: the VM's one reference for kvm-clock (host TSC, host boot ns at it). */
	u64 kvmclock_ref_tsc;
	s64 kvmclock_ref_ns;
	u64 kvmclock_wall_gpa;	/* (m) x86/clock/: MSR_KVM_WALL_CLOCK(_NEW)'s value */
	/* (m) core/dirty.c: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2's KVM_DIRTY_LOG_* flags. */
	u64 manual_dirty_log_protect;
};

enum kagami_irqchip_mode {
	KAGAMI_IRQCHIP_NONE,	/* userspace does everything; HLT exits */
	KAGAMI_IRQCHIP_SPLIT,	/* LAPICs in the kernel, PIC/IOAPIC in userspace */
	KAGAMI_IRQCHIP_KERNEL,	/* LAPICs, PIC pair and IOAPIC in the kernel */
};

static inline bool kagami_lapic_in_kernel(struct kagami_vm *vm)
{
	/* Pairs with the store-release of the mode (core/vm.c): the irqchip is complete. */
	return smp_load_acquire(&vm->irqchip_mode) != KAGAMI_IRQCHIP_NONE;
}

/* The vCPU mapping, as KVM on x86: the kvm_run page, then the port I/O data page. */
#define KAGAMI_PIO_PAGE_OFFSET	1
#define KAGAMI_VCPU_MMAP_PAGES	2

#define KAGAMI_MCE_BANKS	32	/* KVM_MAX_MCE_BANKS, MCG_CAP's default count */

struct kagami_vcpu {
	struct kagami_vm *vm;	/* (c) holds a VM reference for the vCPU fd */
	unsigned int id;	/* (c) KVM_CREATE_VCPU's argument */
	struct kvm_run *run;	/* (c) shared page, mmap of the vCPU fd at offset 0 */
	void *pio_data;		/* (c) port I/O data, at offset KVM_PIO_PAGE_OFFSET pages */
	void *vendor;		/* (c) vendor state: vcpu_create sets, vcpu_free frees */
	struct mutex mutex;	/* (c) serialises the vCPU's ioctls, guards (v) fields */
	struct kvm_cpuid_entry2 *cpuid;	/* (v) KVM_SET_CPUID2's table, kvmalloc'ed */
	u32 cpuid_nent;		/* (v) entries in cpuid */
	u64 xcr0;		/* (v) KVM_SET_XCRS's; XSAVE is hidden, so never loaded */
	sigset_t sigmask;	/* (v) KVM_SET_SIGNAL_MASK's, applied during KVM_RUN */
	bool sigmask_active;	/* (v) */
	struct kagami_lapic *lapic;	/* (c) x86/lapic/, NULL without an irqchip */
	struct kagami_kvmclock *kvmclock;	/* (c) x86/clock/ */
	u32 mp_state;		/* (v) KVM_MP_STATE_*: RUNNABLE, UNINITIALIZED, INIT_RECEIVED, HALTED */
	/*
	 * Kicks (core/kick.c): another context made an event pending for this
	 * vCPU. It sets a request bit, then wakes the vCPU if it sleeps in HLT
	 * (wait) or interrupts the physical CPU it runs a guest on (mode).
	 */
	unsigned long requests;	/* (a) KAGAMI_REQ_* bits */
	int mode;		/* (a) KAGAMI_MODE_*, written by the vCPU thread */
	int guest_cpu;		/* (a) physical CPU while mode is IN_GUEST */
	struct wait_queue_head wait;	/* (c) a halted vCPU sleeps here */
	/* x86/svm/mp_state.c: INIT and SIPI taken from the LAPIC, applied before the next entry. */
	bool init_pending;	/* (v) */
	bool sipi_pending;	/* (v) start at sipi_vector once in INIT_RECEIVED */
	u8 sipi_vector;		/* (v) the last SIPI's, or KVM_SET_VCPU_EVENTS's */
	/* x86/msrs.c: the vendor-neutral MSRs, zero at creation as KVM's. */
	u64 mcg_status;		/* (v) MCG_STATUS */
	u64 mce_banks[KAGAMI_MCE_BANKS * 4];	/* (v) MCi_CTL, _STATUS, _ADDR, _MISC */
	u64 hwcr;		/* (v) HWCR: McStatusWrEn only */
	u64 ucode_rev;		/* (v) UCODE_REV as userspace set it, once ucode_rev_set */
	bool ucode_rev_set;	/* (v) */
};

#define KAGAMI_REQ_EVENT	0	/* re-evaluate pending interrupts/NMI/INIT/SIPI */
#define KAGAMI_REQ_CLOCK	1	/* refresh the kvm-clock page before entry */
#define KAGAMI_REQ_TLB_FLUSH	2	/* nested page table entries lost rights: flush */

enum kagami_vcpu_mode {
	KAGAMI_MODE_OUTSIDE_GUEST,
	KAGAMI_MODE_IN_GUEST,	/* between the last request check and the exit */
};

/* Live objects, for leak checks (debugfs kagami/live_objects). */
struct kagami_stats {
	atomic_t vms;
	atomic_t vcpus;
	atomic_t pages;		/* pages the module allocated and has not freed */
	atomic_t pinned;	/* guest pages pinned for nested page tables */
	atomic_t huge;		/* 2 MiB nested-page-table leaves */
	atomic_t bitmaps;	/* dirty bitmaps of slots */
};

extern struct kagami_stats kagami_stats;

/* dev.c: the system fd (/dev/kagami). */
extern const struct file_operations kagami_dev_fops;
long kagami_check_extension(struct kagami_vm *vm, long cap);

/* vm.c */
int kagami_vm_create(unsigned long type);
void kagami_vm_put(struct kagami_vm *vm);

/* memslot.c */
int kagami_memslot_set(struct kagami_vm *vm,
		       const struct kvm_userspace_memory_region *mem);

/* dirty.c: dirty logging (KVM_MEM_LOG_DIRTY_PAGES and its ioctls). */
unsigned long *kagami_dirty_bitmap_alloc(struct kagami_vm *vm, u64 npages);
void kagami_dirty_bitmap_free(unsigned long *bitmap);
void kagami_dirty_log_start(struct kagami_vm *vm, struct kagami_memslot *slot);
void kagami_dirty_log_stop(struct kagami_vm *vm, struct kagami_memslot *slot);
long kagami_dirty_log_ioctl(struct kagami_vm *vm, unsigned int cmd, void __user *argp);
int kagami_dirty_log_enable_cap(struct kagami_vm *vm, const struct kvm_enable_cap *cap);
void kagami_mark_page_dirty(struct kagami_vm *vm, u64 gpa);
void kagami_mark_slot_page_dirty(struct kagami_memslot *slot, u64 gfn);
void kagami_vm_flush_tlbs(struct kagami_vm *vm);

/* vcpu.c */
int kagami_vcpu_create(struct kagami_vm *vm, unsigned long id);
void kagami_vcpu_free(struct kagami_vcpu *vcpu);

/*
 * The VM's vCPU with this id, or NULL; any context. vcpus[] entries are
 * published once, complete (smp_store_release), and live until the VM dies.
 */
static inline struct kagami_vcpu *kagami_vm_vcpu(struct kagami_vm *vm, unsigned int id)
{
	/* Pairs with the store-release in kagami_vcpu_create(): the vCPU is complete. */
	return id < KAGAMI_MAX_VCPUS ? smp_load_acquire(&vm->vcpus[id]) : NULL;
}

/* kick.c: make a request and see that the vCPU notices (any context). */
void kagami_vcpu_request(struct kagami_vcpu *vcpu, int req);
void kagami_vcpu_kick(struct kagami_vcpu *vcpu);
/* The vCPU thread, before entering: clear and return whether req was made. */
static inline bool kagami_vcpu_check_request(struct kagami_vcpu *vcpu, int req)
{
	return test_and_clear_bit(req, &vcpu->requests);
}

/* x86/cpuid.c: KVM_GET_SUPPORTED_CPUID, KVM_SET/GET_CPUID2 and the CPUID exit's lookup. */
#define KAGAMI_MAX_CPUID_ENTRIES	256	/* KVM_MAX_CPUID_ENTRIES */
long kagami_get_supported_cpuid(struct kvm_cpuid2 __user *argp);
long kagami_vcpu_set_cpuid2(struct kagami_vcpu *vcpu, struct kvm_cpuid2 __user *argp);
long kagami_vcpu_get_cpuid2(struct kagami_vcpu *vcpu, struct kvm_cpuid2 __user *argp);
void kagami_cpuid_lookup(struct kagami_vcpu *vcpu, u32 function, u32 index, u32 out[4]);

/* x86/msrs.c: KVM_GET_MSR_INDEX_LIST, KVM_GET/SET_MSRS. */
long kagami_get_msr_index_list(struct kvm_msr_list __user *argp);
long kagami_vcpu_msrs(struct kagami_vcpu *vcpu, struct kvm_msrs __user *argp, bool set);

/* x86/fpu.c: KVM_GET/SET_FPU, KVM_GET/SET_XSAVE, KVM_GET/SET_XCRS. */
bool kagami_has_xcrs(void);
long kagami_vcpu_get_fpu(struct kagami_vcpu *vcpu, struct kvm_fpu __user *argp);
long kagami_vcpu_set_fpu(struct kagami_vcpu *vcpu, const struct kvm_fpu __user *argp);
long kagami_vcpu_get_xsave(struct kagami_vcpu *vcpu, struct kvm_xsave __user *argp);
long kagami_vcpu_set_xsave(struct kagami_vcpu *vcpu, const struct kvm_xsave __user *argp);
long kagami_vcpu_get_xcrs(struct kagami_vcpu *vcpu, struct kvm_xcrs __user *argp);
long kagami_vcpu_set_xcrs(struct kagami_vcpu *vcpu, const struct kvm_xcrs __user *argp);

/* x86/events.c: KVM_INTERRUPT, KVM_NMI, KVM_GET/SET_VCPU_EVENTS, KVM_GET/SET_MP_STATE. */
long kagami_vcpu_events_ioctl(struct kagami_vcpu *vcpu, unsigned int cmd, void __user *argp);

/* x86/mmu/walk.c: guest memory through the slots, and the guest's own page tables. */
struct kagami_paging {
	u64 cr0, cr3, cr4, efer;
};

int kagami_gpa_to_hva(struct kagami_vm *vm, u64 gpa, bool write, unsigned long *hva);
int kagami_read_gpa(struct kagami_vm *vm, u64 gpa, void *buf, unsigned int len);
int kagami_gva_to_gpa(struct kagami_vm *vm, const struct kagami_paging *p, u64 gva, u64 *gpa);
int kagami_access_linear(struct kagami_vm *vm, const struct kagami_paging *p, u64 gva,
			 void *buf, unsigned int len, bool write);

/* hardware.c: the vendor's hardware is enabled on every online CPU while VMs exist. */
int kagami_hardware_get(void);
void kagami_hardware_put(void);

/* coexist.c */
bool kagami_module_loaded(const char *name);

/* devnode.c */
int kagami_devnode_set_group(const char *name, int gid);

#endif
