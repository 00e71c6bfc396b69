/* The few C library functions the guests (and the compiler's own memset/memcpy calls) need. */
#include "runtime.h"

void* memset(void* dst, int c, size_t n) {
  unsigned char* d = dst;
  while (n--) *d++ = (unsigned char)c;
  return dst;
}

void* memcpy(void* dst, const void* src, size_t n) {
  unsigned char* d = dst;
  const unsigned char* s = src;
  while (n--) *d++ = *s++;
  return dst;
}

int memcmp(const void* a, const void* b, size_t n) {
  const unsigned char* x = a;
  const unsigned char* y = b;
  for (; n; n--, x++, y++)
    if (*x != *y) return *x < *y ? -1 : 1;
  return 0;
}

size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

int strncmp(const char* a, const char* b, size_t n) {
  for (; n; n--, a++, b++) {
    if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
    if (!*a) return 0;
  }
  return 0;
}

int strcmp(const char* a, const char* b) {
  return strncmp(a, b, (size_t)-1);
}

bool parse_u64(const char* s, uint64_t* value) {
  unsigned base = 10;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
  }
  if (!*s) return false;
  uint64_t v = 0;
  for (; *s; s++) {
    unsigned digit;
    if (*s >= '0' && *s <= '9')
      digit = (unsigned)(*s - '0');
    else if (base == 16 && *s >= 'a' && *s <= 'f')
      digit = (unsigned)(*s - 'a' + 10);
    else if (base == 16 && *s >= 'A' && *s <= 'F')
      digit = (unsigned)(*s - 'A' + 10);
    else
      return false;
    v = v * base + digit;
  }
  *value = v;
  return true;
}
