// 16550A UART: register semantics, RX FIFO, interrupt priorities, loopback.
#include "serial_16550a.hpp"

#include <utility>

#include "serial_16550a_regs.hpp"

namespace kagami {
using namespace uart;  // NOLINT: the register names are the chip's

Serial16550a::Serial16550a(Output output, uint16_t base)
    : base_(base), output_(std::move(output)), msr_lines_(kMsrIdleLines) {}

void Serial16550a::attach(Bus& io) {
  io.add(base_, 8, *this, kWidth1, "serial 16550a");
}

void Serial16550a::set_rx_space_callback(std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  rx_space_callback_ = std::move(callback);
}

void Serial16550a::set_irq_callback(std::function<void(bool)> callback) {
  std::lock_guard irq_lock(irq_mutex_);
  irq_callback_ = std::move(callback);
}

bool Serial16550a::interrupt_pending() const {
  std::lock_guard lock(mutex_);
  return pending_interrupt_id() != kIirNone;
}

size_t Serial16550a::receive(std::span<const uint8_t> bytes) {
  size_t taken = 0;
  {
    std::lock_guard lock(mutex_);
    if (loopback()) return 0;
    while (taken < bytes.size() && rx_count_ < rx_capacity()) rx_push(bytes[taken++], 0);
  }
  if (taken > 0) update_irq();
  return taken;
}

void Serial16550a::read(uint64_t offset, std::span<uint8_t> data) {
  Effects effects;
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < data.size(); ++i) data[i] = read_register(offset + i, effects);
  }
  apply(effects);
}

void Serial16550a::write(uint64_t offset, std::span<const uint8_t> data) {
  for (size_t i = 0; i < data.size(); ++i) {
    Effects effects;
    {
      std::lock_guard lock(mutex_);
      write_register(offset + i, data[i], effects);
    }
    apply(effects);
  }
}

void Serial16550a::apply(const Effects& effects) {
  if (effects.transmit && output_) {
    std::lock_guard output_lock(output_mutex_);
    output_(std::span<const uint8_t>(&effects.byte, 1));
  }
  if (effects.rx_space && rx_space_callback_) rx_space_callback_();
  update_irq();
}

// Re-reads the level under irq_mutex_ so that racing updates can only ever end with the
// current level reported.
void Serial16550a::update_irq() {
  std::lock_guard irq_lock(irq_mutex_);
  if (!irq_callback_) return;
  bool level = interrupt_pending();
  if (level == irq_level_) return;
  irq_level_ = level;
  irq_callback_(level);
}

uint8_t Serial16550a::read_register(uint64_t reg, Effects& effects) {
  bool dlab = lcr_ & kLcrDlab;
  switch (reg) {
    case kRbrThr: return dlab ? static_cast<uint8_t>(divisor_) : read_rbr(effects);
    case kIer: return dlab ? static_cast<uint8_t>(divisor_ >> 8) : ier_;
    case kIirFcr: return read_iir();
    case kLcr: return lcr_;
    case kMcr: return mcr_;
    case kLsr: return read_lsr();
    case kMsr: return read_msr();
    case kScr: return scr_;
    default: return 0xff;
  }
}

void Serial16550a::write_register(uint64_t reg, uint8_t value, Effects& effects) {
  bool dlab = lcr_ & kLcrDlab;
  switch (reg) {
    case kRbrThr:
      if (dlab) {
        divisor_ = static_cast<uint16_t>((divisor_ & 0xff00) | value);
      } else {
        write_thr(value, effects);
      }
      break;
    case kIer:
      if (dlab) {
        divisor_ = static_cast<uint16_t>((divisor_ & 0x00ff) | (value << 8));
      } else {
        write_ier(value);
      }
      break;
    case kIirFcr: write_fcr(value, effects); break;
    case kLcr: write_lcr(value); break;
    case kMcr: write_mcr(value, effects); break;
    case kScr: scr_ = value; break;
    default: break;  // LSR and MSR are read-only (their factory-test writes are not modelled)
  }
}

uint8_t Serial16550a::read_rbr(Effects& effects) {
  if (rx_count_ == 0) return rbr_;
  rbr_ = rx_pop().byte;
  effects.rx_space = !loopback();
  return rbr_;
}

// Reading IIR while it reports THR empty acknowledges that interrupt (16550A data sheet).
uint8_t Serial16550a::read_iir() {
  uint8_t id = pending_interrupt_id();
  if (id == kIirThre) thr_interrupt_ = false;
  return static_cast<uint8_t>(id | (fifo_enabled() ? kIirFifoEnabled : 0));
}

// Reading LSR clears OE and the error bits of the byte at the top of the FIFO.
uint8_t Serial16550a::read_lsr() {
  uint8_t value = line_status();
  overrun_ = false;
  if (rx_count_ > 0) rx_front_errors_reported_ = true;
  return value;
}

uint8_t Serial16550a::read_msr() {
  uint8_t value = msr_lines_ | msr_deltas_;
  msr_deltas_ = 0;
  return value;
}

// The transmitter is infinitely fast: the THR is empty again as soon as it was written.
void Serial16550a::write_thr(uint8_t value, Effects& effects) {
  if (loopback()) {
    loopback_receive(value, 0);
  } else {
    effects.transmit = true;
    effects.byte = value;
  }
  thr_interrupt_ = true;
}

// Enabling the THR-empty interrupt while THR is empty raises it even if an IIR read had
// acknowledged it before (QEMU does the same; Windows relies on it).
void Serial16550a::write_ier(uint8_t value) {
  uint8_t changed = ier_ ^ (value & kIerMask);
  ier_ = value & kIerMask;
  if (changed & kIerThre) thr_interrupt_ = ier_ & kIerThre;
}

// Toggling FIFO enable resets both FIFOs, as on the 16550A. The transmit FIFO is always empty
// here, so resetting it only re-arms the THR-empty interrupt.
void Serial16550a::write_fcr(uint8_t value, Effects& effects) {
  bool toggled = (value ^ fcr_) & kFcrEnable;
  if ((toggled || (value & kFcrClearRx)) && rx_count_ > 0) {
    rx_clear();
    effects.rx_space = !loopback();
  }
  if (toggled || (value & kFcrClearTx)) thr_interrupt_ = true;
  fcr_ = (value & kFcrEnable) ? (value & (kFcrEnable | kFcrDma | kFcrTriggerMask)) : 0;
}

// In loopback, raising break makes the receiver see a break: a zero byte flagged BI.
void Serial16550a::write_lcr(uint8_t value) {
  bool break_raised = (value & kLcrBreak) && !(lcr_ & kLcrBreak);
  lcr_ = value;
  if (break_raised && loopback()) loopback_receive(0, kLsrBi);
}

void Serial16550a::write_mcr(uint8_t value, Effects& effects) {
  bool left_loopback = loopback() && !(value & kMcrLoop);
  mcr_ = value & kMcrMask;
  set_modem_lines(loopback() ? loopback_modem_lines() : kMsrIdleLines);
  if (left_loopback) effects.rx_space = true;
}

bool Serial16550a::fifo_enabled() const {
  return fcr_ & kFcrEnable;
}

bool Serial16550a::loopback() const {
  return mcr_ & kMcrLoop;
}

size_t Serial16550a::rx_capacity() const {
  return fifo_enabled() ? kFifoSize : 1;
}

size_t Serial16550a::trigger_level() const {
  static constexpr size_t kLevels[] = {1, 4, 8, 14};
  return kLevels[fcr_ >> 6];
}

// Priorities: receiver line status, received data (trigger level reached, or any data without
// FIFOs), character timeout, THR empty, modem status. With no baud timing, the four character
// times of silence that make a timeout are deemed to have passed as soon as the data sits
// below the trigger level: input arrives in host-sized bursts, each complete when it lands.
uint8_t Serial16550a::pending_interrupt_id() const {
  if ((ier_ & kIerRxLine) && (line_status() & kLsrLineErrors)) return kIirRxLine;
  if ((ier_ & kIerRxData) && rx_count_ > 0) {
    bool at_trigger = !fifo_enabled() || rx_count_ >= trigger_level();
    return at_trigger ? kIirRxData : kIirRxTimeout;
  }
  if ((ier_ & kIerThre) && thr_interrupt_) return kIirThre;
  if ((ier_ & kIerModem) && msr_deltas_) return kIirModem;
  return kIirNone;
}

// LSR without side effects. Bit 7 (FIFO mode only): some byte still in the FIFO came with a
// parity, framing or break error.
uint8_t Serial16550a::line_status() const {
  uint8_t value = kLsrThre | kLsrTemt;
  if (overrun_) value |= kLsrOe;
  if (rx_count_ > 0) {
    value |= kLsrDr;
    if (!rx_front_errors_reported_) value |= rx_[rx_head_].errors;
  }
  if (fifo_enabled()) {
    for (size_t i = 0; i < rx_count_; ++i) {
      if (rx_[(rx_head_ + i) % kFifoSize].errors) value |= kLsrFifoError;
    }
  }
  return value;
}

// Loopback wiring: RTS -> CTS, DTR -> DSR, OUT1 -> RI, OUT2 -> DCD.
uint8_t Serial16550a::loopback_modem_lines() const {
  uint8_t lines = 0;
  if (mcr_ & kMcrRts) lines |= kMsrCts;
  if (mcr_ & kMcrDtr) lines |= kMsrDsr;
  if (mcr_ & kMcrOut1) lines |= kMsrRi;
  if (mcr_ & kMcrOut2) lines |= kMsrDcd;
  return lines;
}

// Delta bits latch changes of CTS, DSR and DCD, and the trailing (falling) edge of RI.
void Serial16550a::set_modem_lines(uint8_t lines) {
  uint8_t changed = msr_lines_ ^ lines;
  if (changed & kMsrCts) msr_deltas_ |= kMsrDcts;
  if (changed & kMsrDsr) msr_deltas_ |= kMsrDdsr;
  if (changed & kMsrDcd) msr_deltas_ |= kMsrDdcd;
  if ((msr_lines_ & kMsrRi) && !(lines & kMsrRi)) msr_deltas_ |= kMsrTeri;
  msr_lines_ = lines;
}

void Serial16550a::rx_push(uint8_t byte, uint8_t errors) {
  if (rx_count_ == 0) rx_front_errors_reported_ = false;
  rx_[(rx_head_ + rx_count_) % kFifoSize] = {byte, errors};
  ++rx_count_;
}

Serial16550a::RxEntry Serial16550a::rx_pop() {
  RxEntry entry = rx_[rx_head_];
  rx_head_ = (rx_head_ + 1) % kFifoSize;
  --rx_count_;
  rx_front_errors_reported_ = false;
  return entry;
}

void Serial16550a::rx_clear() {
  rx_head_ = 0;
  rx_count_ = 0;
  rx_front_errors_reported_ = false;
}

// A byte the guest sends to itself when there is no room is an overrun: with FIFOs it is lost,
// without them it replaces the unread holding register, as on the chip.
void Serial16550a::loopback_receive(uint8_t byte, uint8_t errors) {
  if (rx_count_ < rx_capacity()) {
    rx_push(byte, errors);
    return;
  }
  overrun_ = true;
  if (!fifo_enabled()) {
    rx_[rx_head_] = {byte, errors};
    rx_front_errors_reported_ = false;
  }
}

}  // namespace kagami
