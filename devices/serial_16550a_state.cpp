// 16550A saved state: registers, RX FIFO contents with their error bits, pending interrupts.
#include <algorithm>
#include <vector>

#include "serial_16550a.hpp"
#include "serial_16550a_regs.hpp"
#include "state_fields.hpp"

namespace kagami {
using namespace uart;  // NOLINT: the register names are the chip's
using state_fields::require;

namespace {

constexpr uint8_t kFcrKept = kFcrEnable | kFcrDma | kFcrTriggerMask;
constexpr uint8_t kRxErrorBits = kLsrPe | kLsrFe | kLsrBi;
constexpr uint8_t kMsrDeltaBits = kMsrDcts | kMsrDdsr | kMsrTeri | kMsrDdcd;

}  // namespace

// MSR's line bits are not saved: they follow from MCR (loopback wiring or the idle lines).
void Serial16550a::save_state(StateWriter& out) const {
  std::lock_guard lock(mutex_);
  out.u16("divisor", divisor_);
  out.u8("ier", ier_);
  out.u8("fcr", fcr_);
  out.u8("lcr", lcr_);
  out.u8("mcr", mcr_);
  out.u8("scr", scr_);
  out.u8("msr-deltas", msr_deltas_);
  out.u8("rbr", rbr_);
  out.flag("thr-interrupt", thr_interrupt_);
  out.flag("overrun", overrun_);
  out.flag("rx-errors-seen", rx_front_errors_reported_);
  std::vector<uint8_t> bytes, errors;
  for (size_t i = 0; i < rx_count_; ++i) {
    const RxEntry& entry = rx_[(rx_head_ + i) % kFifoSize];
    bytes.push_back(entry.byte);
    errors.push_back(entry.errors);
  }
  out.bytes("rx-fifo", bytes);
  out.bytes("rx-errors", errors);
}

void Serial16550a::load_state(const StateReader& in) {
  uint16_t divisor = in.u16("divisor");
  auto ier = static_cast<uint8_t>(in.u32_max("ier", kIerMask));
  uint8_t fcr = in.u8("fcr");
  require((fcr & ~kFcrKept) == 0 && (fcr == 0 || (fcr & kFcrEnable)), in, "fcr",
          "bits set that the chip does not keep");
  uint8_t lcr = in.u8("lcr");
  auto mcr = static_cast<uint8_t>(in.u32_max("mcr", kMcrMask));
  uint8_t scr = in.u8("scr");
  auto msr_deltas = static_cast<uint8_t>(in.u32_max("msr-deltas", kMsrDeltaBits));
  uint8_t rbr = in.u8("rbr");
  bool thr_interrupt = in.flag("thr-interrupt");
  bool overrun = in.flag("overrun");
  bool errors_seen = in.flag("rx-errors-seen");
  size_t capacity = (fcr & kFcrEnable) ? kFifoSize : 1;
  std::vector<uint8_t> bytes = in.bytes("rx-fifo", capacity);
  std::vector<uint8_t> errors = in.bytes("rx-errors", capacity);
  require(errors.size() == bytes.size(), in, "rx-errors",
          std::to_string(errors.size()) + " entries for " + std::to_string(bytes.size()) +
              " bytes in rx-fifo");
  require(std::all_of(errors.begin(), errors.end(), [](uint8_t e) { return !(e & ~kRxErrorBits); }),
          in, "rx-errors", "an entry has bits other than PE, FE and BI");

  bool room;
  {
    std::lock_guard lock(mutex_);
    divisor_ = divisor;
    ier_ = ier;
    fcr_ = fcr;
    lcr_ = lcr;
    mcr_ = mcr;
    scr_ = scr;
    msr_lines_ = loopback() ? loopback_modem_lines() : kMsrIdleLines;
    msr_deltas_ = msr_deltas;
    rbr_ = rbr;
    thr_interrupt_ = thr_interrupt;
    overrun_ = overrun;
    rx_head_ = 0;
    rx_count_ = bytes.size();
    for (size_t i = 0; i < bytes.size(); ++i) rx_[i] = {bytes[i], errors[i]};
    rx_front_errors_reported_ = errors_seen;
    room = !loopback() && rx_count_ < rx_capacity();
  }
  if (room && rx_space_callback_) rx_space_callback_();
  update_irq();
}

}  // namespace kagami
