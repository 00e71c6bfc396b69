/* rtc: the CMOS clock reads consistently, decodes (BCD or binary, 12 or 24 hours) to a
 * plausible date, and is within 120 s of the runner's now=<unix seconds>. */
#include "runtime/io.h"
#include "runtime/runtime.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define NMI_DISABLE 0x80
#define REG_SECONDS 0x00
#define REG_MINUTES 0x02
#define REG_HOURS 0x04
#define REG_WEEKDAY 0x06
#define REG_DAY 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_D 0x0d
#define REG_CENTURY 0x32
#define A_UPDATE_IN_PROGRESS 0x80
#define B_24_HOUR 0x02
#define B_BINARY 0x04
#define D_VALID 0x80
#define HOUR_PM 0x80
#define MAX_CLOCK_SKEW 120

struct clock_registers {
  uint8_t seconds, minutes, hours, weekday, day, month, year, century;
};

static uint8_t cmos_read(uint8_t reg) {
  outb(CMOS_INDEX, NMI_DISABLE | reg);
  return inb(CMOS_DATA);
}

/* Waits until no update is in progress (an update takes < 2 ms; the bound covers slow
 * platforms where each port access is a VM exit). */
static bool wait_update_done(void) {
  for (int i = 0; i < 100000; i++)
    if (!(cmos_read(REG_A) & A_UPDATE_IN_PROGRESS)) return true;
  return false;
}

static struct clock_registers read_clock(void) {
  return (struct clock_registers){
      .seconds = cmos_read(REG_SECONDS),
      .minutes = cmos_read(REG_MINUTES),
      .hours = cmos_read(REG_HOURS),
      .weekday = cmos_read(REG_WEEKDAY),
      .day = cmos_read(REG_DAY),
      .month = cmos_read(REG_MONTH),
      .year = cmos_read(REG_YEAR),
      .century = cmos_read(REG_CENTURY),
  };
}

/* Two identical reads in a row, each after the update flag cleared: no torn time. */
static bool read_stable_clock(struct clock_registers* out) {
  struct clock_registers previous = {0};
  for (int attempt = 0; attempt < 10; attempt++) {
    if (!wait_update_done()) return false;
    struct clock_registers now = read_clock();
    if (attempt > 0 && memcmp(&now, &previous, sizeof(now)) == 0) {
      *out = now;
      return true;
    }
    previous = now;
  }
  return false;
}

static bool bcd_valid(uint8_t v) {
  return (v & 0x0f) <= 9 && (v >> 4) <= 9;
}
static unsigned from_bcd(uint8_t v) {
  return (v >> 4) * 10u + (v & 0x0f);
}

struct date_time {
  unsigned year, month, day, hour, minute, second, weekday;
};

/* Decodes per register B; false when a BCD field holds a non-decimal nibble. */
static bool decode(const struct clock_registers* r, uint8_t reg_b, struct date_time* t) {
  bool binary = reg_b & B_BINARY;
  uint8_t hours = r->hours & (uint8_t)~HOUR_PM;
  const uint8_t fields[] = {r->seconds, r->minutes, hours,   r->weekday,
                            r->day,     r->month,   r->year, r->century};
  if (!binary)
    for (size_t i = 0; i < sizeof(fields); i++)
      if (!bcd_valid(fields[i])) return false;
  unsigned (*value)(uint8_t) = binary ? NULL : from_bcd;
#define FIELD(x) (value ? value(x) : (unsigned)(x))
  t->second = FIELD(r->seconds);
  t->minute = FIELD(r->minutes);
  t->hour = FIELD(hours);
  t->weekday = FIELD(r->weekday);
  t->day = FIELD(r->day);
  t->month = FIELD(r->month);
  t->year = FIELD(r->century) * 100 + FIELD(r->year);
#undef FIELD
  if (!(reg_b & B_24_HOUR)) /* 12-hour clock: 12 AM is 0h, PM adds 12 */
    t->hour = (t->hour % 12) + ((r->hours & HOUR_PM) ? 12 : 0);
  return true;
}

static bool is_leap(unsigned year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static unsigned days_in_month(unsigned year, unsigned month) {
  static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

static uint64_t days_since_epoch(const struct date_time* t) {
  uint64_t days = 0;
  for (unsigned y = 1970; y < t->year; y++) days += is_leap(y) ? 366 : 365;
  for (unsigned m = 1; m < t->month; m++) days += days_in_month(t->year, m);
  return days + t->day - 1;
}

static bool plausible(const struct date_time* t) {
  return t->year >= 2020 && t->year < 2100 && t->month >= 1 && t->month <= 12 && t->day >= 1 &&
         t->day <= days_in_month(t->year, t->month) && t->hour < 24 && t->minute < 60 &&
         t->second < 60;
}

static void check_against_now(uint64_t rtc_seconds) {
  uint64_t now;
  if (!cmdline_u64("now", &now)) {
    printf("  no now=<unix seconds> on the command line: skipping the comparison\n");
    return;
  }
  int64_t skew = (int64_t)(rtc_seconds - now);
  printf("  RTC %lu, now= %lu, difference %ld s\n", rtc_seconds, now, skew);
  reportf(skew >= -MAX_CLOCK_SKEW && skew <= MAX_CLOCK_SKEW,
          "RTC within %d s of now=", MAX_CLOCK_SKEW);
}

void guest_main(void) {
  uint8_t reg_b = cmos_read(REG_B), reg_d = cmos_read(REG_D);
  printf("  register B %#x (%s, %s), register D %#x\n", reg_b, reg_b & B_BINARY ? "binary" : "BCD",
         reg_b & B_24_HOUR ? "24 h" : "12 h", reg_d);
  report("register D says time and RAM are valid", reg_d & D_VALID);

  struct clock_registers regs;
  bool stable = read_stable_clock(&regs);
  report("update-in-progress clears and two reads in a row agree", stable);
  if (!stable) return;

  struct date_time t;
  bool decoded = decode(&regs, reg_b, &t);
  report("every BCD field holds decimal digits", decoded);
  if (!decoded) return;
  printf("  RTC time %04u-%02u-%02u %02u:%02u:%02u UTC, weekday register %u\n", t.year, t.month,
         t.day, t.hour, t.minute, t.second, t.weekday);
  bool sane = plausible(&t);
  report("date and time are in range (year 2020..2099)", sane);
  if (!sane) return;

  uint64_t days = days_since_epoch(&t);
  /* 1970-01-01 was a Thursday; the RTC counts Sunday as 1. */
  reportf(t.weekday == (days + 4) % 7 + 1, "weekday register (%u) matches the date (1 = Sunday)",
          t.weekday);
  check_against_now(days * 86400 + t.hour * 3600u + t.minute * 60u + t.second);
}
