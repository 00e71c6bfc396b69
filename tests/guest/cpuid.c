/* cpuid: the CPUID the VMM hands the guest: vendor, leaves, the features every 64-bit guest
 * needs, long mode, the hypervisor bit, and a printable brand string. */
#include "runtime/io.h"
#include "runtime/runtime.h"

/* Leaf 1 EDX: what x86-64 itself guarantees, hence what QEMU's qemu64 model and KVM on AMD
 * and Intel all report. (APIC is left out: a VMM without a local APIC may clear it.) */
#define EDX_FPU (1u << 0)
#define EDX_TSC (1u << 4)
#define EDX_MSR (1u << 5)
#define EDX_PAE (1u << 6)
#define EDX_CX8 (1u << 8)
#define EDX_CMOV (1u << 15)
#define EDX_FXSR (1u << 24)
#define EDX_SSE (1u << 25)
#define EDX_SSE2 (1u << 26)
#define ECX_HYPERVISOR (1u << 31)
#define EXT_EDX_LM (1u << 29)

static const char* const known_vendors[] = {
    "GenuineIntel", "AuthenticAMD", "HygonGenuine", "CentaurHauls", "  Shanghai  ",
};

static void check_vendor(void) {
  struct cpuid_result r = cpuid(0, 0);
  char vendor[13];
  memcpy(vendor, &r.ebx, 4);
  memcpy(vendor + 4, &r.edx, 4);
  memcpy(vendor + 8, &r.ecx, 4);
  vendor[12] = '\0';
  printf("  vendor \"%s\", max basic leaf %#x\n", vendor, r.eax);
  bool known = false;
  for (size_t i = 0; i < sizeof(known_vendors) / sizeof(known_vendors[0]); i++)
    known = known || strcmp(vendor, known_vendors[i]) == 0;
  report("vendor string is a known x86 vendor", known);
  report("max basic leaf >= 1", r.eax >= 1);
}

static void check_leaf1(void) {
  struct cpuid_result r = cpuid(1, 0);
  printf("  leaf 1: eax %#x ebx %#x ecx %#x edx %#x\n", r.eax, r.ebx, r.ecx, r.edx);
  const struct {
    uint32_t bit;
    const char* name;
  } needed[] = {
      {EDX_FPU, "FPU"},   {EDX_TSC, "TSC"}, {EDX_MSR, "MSR"},
      {EDX_PAE, "PAE"},   {EDX_CX8, "CX8"}, {EDX_CMOV, "CMOV"},
      {EDX_FXSR, "FXSR"}, {EDX_SSE, "SSE"}, {EDX_SSE2, "SSE2"},
  };
  for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
    reportf(r.edx & needed[i].bit, "leaf 1 EDX has %s", needed[i].name);
  report("leaf 1 ECX has the hypervisor bit (31)", r.ecx & ECX_HYPERVISOR);
}

static uint32_t check_extended_leaves(void) {
  uint32_t max_extended = cpuid(0x80000000, 0).eax;
  printf("  max extended leaf %#x\n", max_extended);
  report("max extended leaf >= 0x80000001", max_extended >= 0x80000001);
  if (max_extended >= 0x80000001)
    report("leaf 0x80000001 EDX has LM (long mode)", cpuid(0x80000001, 0).edx & EXT_EDX_LM);
  return max_extended;
}

static void check_brand(uint32_t max_extended) {
  if (max_extended < 0x80000004) {
    printf("  no brand string leaves\n");
    return;
  }
  char brand[49];
  for (uint32_t i = 0; i < 3; i++) {
    struct cpuid_result r = cpuid(0x80000002 + i, 0);
    memcpy(brand + 16 * i, &r, 16);
  }
  brand[48] = '\0';
  bool printable = brand[0] != '\0';
  for (size_t i = 0; brand[i]; i++) printable = printable && brand[i] >= 0x20 && brand[i] < 0x7f;
  if (printable)
    printf("  brand \"%s\"\n", brand);
  else if (brand[0] == '\0')
    printf("  brand string empty (leaf 0x80000002 starts with a zero byte)\n");
  else
    printf("  brand string has a non-printable byte\n");
  /* KVM_GET_SUPPORTED_CPUID leaves these leaves zero (real KVM and the build host's alike): a
   * VMM has to fill them in, as QEMU does from its CPU model. */
  report("brand string is non-empty printable ASCII", printable);
}

void guest_main(void) {
  check_vendor();
  check_leaf1();
  check_brand(check_extended_leaves());
}
