// Userspace stand-ins for the kernel types and headers the kmod code uses, for its unit tests.
#ifndef KAGAMI_TESTS_UNIT_KMOD_KERNEL_COMPAT_H
#define KAGAMI_TESTS_UNIT_KMOD_KERNEL_COMPAT_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#ifndef __cplusplus
#include <stdbool.h>
#endif

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#endif  // KAGAMI_TESTS_UNIT_KMOD_KERNEL_COMPAT_H
