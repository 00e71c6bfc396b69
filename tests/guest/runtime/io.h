/* Port I/O, MMIO and privileged-instruction wrappers for the test guests. */
#pragma once

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t value) {
  __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t value) {
  __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t value) {
  __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}
static inline uint8_t inb(uint16_t port) {
  uint8_t value;
  __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}
static inline uint16_t inw(uint16_t port) {
  uint16_t value;
  __asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}
static inline uint32_t inl(uint16_t port) {
  uint32_t value;
  __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}

/* One MMIO access of exactly the named width (volatile keeps the compiler from splitting or
 * merging it). */
static inline uint8_t mmio_read8(uint64_t addr) {
  return *(volatile uint8_t*)addr;
}
static inline uint16_t mmio_read16(uint64_t addr) {
  return *(volatile uint16_t*)addr;
}
static inline uint32_t mmio_read32(uint64_t addr) {
  return *(volatile uint32_t*)addr;
}
static inline uint64_t mmio_read64(uint64_t addr) {
  return *(volatile uint64_t*)addr;
}
static inline void mmio_write8(uint64_t addr, uint8_t v) {
  *(volatile uint8_t*)addr = v;
}
static inline void mmio_write16(uint64_t addr, uint16_t v) {
  *(volatile uint16_t*)addr = v;
}
static inline void mmio_write32(uint64_t addr, uint32_t v) {
  *(volatile uint32_t*)addr = v;
}
static inline void mmio_write64(uint64_t addr, uint64_t v) {
  *(volatile uint64_t*)addr = v;
}

struct cpuid_result {
  uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_result cpuid(uint32_t leaf, uint32_t subleaf) {
  struct cpuid_result r;
  __asm__ volatile("cpuid"
                   : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                   : "a"(leaf), "c"(subleaf));
  return r;
}

static inline uint64_t read_cr2(void) {
  uint64_t value;
  __asm__ volatile("mov %%cr2, %0" : "=r"(value));
  return value;
}
static inline uint64_t read_cr3(void) {
  uint64_t value;
  __asm__ volatile("mov %%cr3, %0" : "=r"(value));
  return value;
}
static inline void write_cr3(uint64_t value) {
  __asm__ volatile("mov %0, %%cr3" : : "r"(value) : "memory");
}
static inline void invlpg(uint64_t addr) {
  __asm__ volatile("invlpg (%0)" : : "r"(addr) : "memory");
}
static inline uint64_t rdmsr(uint32_t index) {
  uint32_t lo, hi;
  __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(index));
  return lo | (uint64_t)hi << 32;
}
static inline void wrmsr(uint32_t index, uint64_t value) {
  __asm__ volatile("wrmsr"
                   :
                   : "c"(index), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
                   : "memory");
}
static inline uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return lo | (uint64_t)hi << 32;
}
static inline void cpu_relax(void) {
  __asm__ volatile("pause" : : : "memory");
}
static inline uint16_t read_cs(void) {
  uint16_t value;
  __asm__ volatile("mov %%cs, %0" : "=r"(value));
  return value;
}
