/* COM1 console (polled 16550) and a small printf: %s %c %d %i %u %x %X %p %%, flags - 0 #,
 * widths, and the l / ll / z length modifiers. */
#include "io.h"
#include "runtime.h"

#define COM1 0x3f8
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_DLL 0
#define UART_DLM 1
#define LCR_DLAB 0x80
#define LCR_8N1 0x03
#define LSR_THRE 0x20

void console_init(void) {
  outb(COM1 + UART_IER, 0x00);
  outb(COM1 + UART_LCR, LCR_DLAB);
  outb(COM1 + UART_DLL, 0x01); /* 115200 baud */
  outb(COM1 + UART_DLM, 0x00);
  outb(COM1 + UART_LCR, LCR_8N1);
  outb(COM1 + UART_FCR, 0x07); /* enable and clear the FIFOs */
  outb(COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

static void uart_send(char c) {
  while (!(inb(COM1 + UART_LSR) & LSR_THRE)) {
  }
  outb(COM1 + UART_THR, (uint8_t)c);
}

/* CR before LF, so the output reads right on a terminal the VMM has put in raw mode. */
void console_putc(char c) {
  if (c == '\n') uart_send('\r');
  uart_send(c);
}

/* Where formatted output goes: the console, or a bounded buffer for snprintf. */
struct sink {
  char* buf;
  size_t size, len;
};

static void sink_put(struct sink* s, char c) {
  if (!s->buf)
    console_putc(c);
  else if (s->len + 1 < s->size)
    s->buf[s->len] = c;
  s->len++;
}

struct spec {
  bool left, zero, alt;
  int width;
};

static void put_padded(struct sink* s, const struct spec* sp, const char* text, size_t len,
                       const char* prefix) {
  size_t prefix_len = strlen(prefix);
  int pad = sp->width - (int)(len + prefix_len);
  if (!sp->left && !sp->zero)
    for (; pad > 0; pad--) sink_put(s, ' ');
  for (size_t i = 0; i < prefix_len; i++) sink_put(s, prefix[i]);
  if (!sp->left && sp->zero)
    for (; pad > 0; pad--) sink_put(s, '0');
  for (size_t i = 0; i < len; i++) sink_put(s, text[i]);
  for (; pad > 0; pad--) sink_put(s, ' ');
}

static void put_number(struct sink* s, const struct spec* sp, uint64_t value, unsigned base,
                       bool upper, bool negative) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char text[24];
  size_t len = 0;
  do {
    text[sizeof(text) - 1 - len++] = digits[value % base];
    value /= base;
  } while (value);
  const char* prefix = negative ? "-" : (sp->alt && base == 16) ? "0x" : "";
  put_padded(s, sp, text + sizeof(text) - len, len, prefix);
}

static const char* parse_spec(const char* f, struct spec* sp) {
  *sp = (struct spec){0};
  for (;; f++) {
    if (*f == '-')
      sp->left = true;
    else if (*f == '0')
      sp->zero = true;
    else if (*f == '#')
      sp->alt = true;
    else
      break;
  }
  for (; *f >= '0' && *f <= '9'; f++) sp->width = sp->width * 10 + (*f - '0');
  return f;
}

static void format(struct sink* s, const char* f, va_list ap) {
  for (; *f; f++) {
    if (*f != '%') {
      sink_put(s, *f);
      continue;
    }
    struct spec sp;
    f = parse_spec(f + 1, &sp);
    int longs = 0;
    for (; *f == 'l' || *f == 'z'; f++) longs++;
    uint64_t u;
    int64_t i;
    switch (*f) {
      case 'd':
      case 'i':
        i = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
        put_number(s, &sp, i < 0 ? -(uint64_t)i : (uint64_t)i, 10, false, i < 0);
        break;
      case 'u':
      case 'x':
      case 'X':
        u = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
        put_number(s, &sp, u, *f == 'u' ? 10 : 16, *f == 'X', false);
        break;
      case 'p':
        sp.alt = true;
        put_number(s, &sp, (uint64_t)va_arg(ap, void*), 16, false, false);
        break;
      case 'c': {
        char c = (char)va_arg(ap, int);
        put_padded(s, &sp, &c, 1, "");
        break;
      }
      case 's': {
        const char* str = va_arg(ap, const char*);
        if (!str) str = "(null)";
        put_padded(s, &sp, str, strlen(str), "");
        break;
      }
      case '%': sink_put(s, '%'); break;
      case '\0': return;
      default: /* unknown conversion: show it rather than guess */
        sink_put(s, '%');
        sink_put(s, *f);
    }
  }
}

int vprintf(const char* fmt, va_list ap) {
  struct sink s = {0};
  format(&s, fmt, ap);
  return (int)s.len;
}

int printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vprintf(fmt, ap);
  va_end(ap);
  return n;
}

int vsnprintf(char* buf, size_t size, const char* fmt, va_list ap) {
  struct sink s = {buf, size, 0};
  format(&s, fmt, ap);
  if (size) buf[s.len < size ? s.len : size - 1] = '\0';
  return (int)s.len;
}

int snprintf(char* buf, size_t size, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}
