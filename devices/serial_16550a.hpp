// 16550A UART (COM1 by default): register-accurate, with a 16-byte receive FIFO and no baud timing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

#include "kagami/bus.hpp"
#include "kagami/state.hpp"

namespace kagami {

// The guest sees a 16550A whose transmitter is infinitely fast: a byte written to THR is handed
// to the output callback at once, so LSR THRE/TEMT read back set and the THR-empty interrupt
// re-arms after every write. Input arrives through receive(), which never drops a byte: what
// does not fit stays with the caller, who is told through the rx-space callback when the guest
// has made room. The only overruns are those the guest causes itself in loopback mode.
//
// Threads: register accesses come from vCPU threads, receive() from the console thread; one
// mutex guards the registers, and no callback is ever called with it held, so a slow output
// sink never stalls receive() and callbacks may call back in: the rx-space callback may call any
// member (the console typically calls receive() from it); the output callback anything but
// read()/write(), as output calls are serialized by a lock of their own (so the sink need not
// be thread-safe); the irq callback, which runs under the lock that serializes irq reports,
// only interrupt_pending().
class Serial16550a final : public BusDevice, public Stateful {
 public:
  using Output = std::function<void(std::span<const uint8_t>)>;
  static constexpr uint16_t kCom1Base = 0x3f8;
  static constexpr size_t kFifoSize = 16;

  // output receives every transmitted byte run (not in loopback mode); it may be empty.
  explicit Serial16550a(Output output, uint16_t base = kCom1Base);

  // Joins the port bus at [base, base + 8), byte-wide registers (wider accesses are split).
  void attach(Bus& io);

  // Console side. Pushes input into the RX FIFO (one holding byte when FIFOs are disabled,
  // nothing in loopback mode, where the serial input is disconnected) and returns how many
  // bytes were taken; the rest stays with the caller.
  size_t receive(std::span<const uint8_t> bytes);

  // Called on a vCPU thread whenever the guest frees room for input (reads a byte, clears the
  // FIFO, leaves loopback), so the console can call receive() again. Set before vCPUs run.
  void set_rx_space_callback(std::function<void()> callback);

  // Called with the new level whenever the chip's interrupt output changes. Calls are
  // serialized, and the last call always reports the current level. PC boards gate this line
  // with MCR OUT2; that gating belongs to the board (QEMU does not apply it). Set before vCPUs run.
  void set_irq_callback(std::function<void(bool)> callback);

  // True when IIR reports a pending interrupt.
  bool interrupt_pending() const;

  // BusDevice: offset is the register (0..7), data is one byte.
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Stateful: the registers, the RX FIFO and the pending interrupt sources. After a load the
  // irq callback reports the loaded level (if it changed) and the rx-space callback is called
  // when the FIFO has room, both outside the register lock.
  void save_state(StateWriter& out) const override;
  void load_state(const StateReader& in) override;

 private:
  struct RxEntry {
    uint8_t byte;
    uint8_t errors;  // LSR PE/FE/BI bits that came with this byte
  };
  // What a register access asks for once the register mutex is released.
  struct Effects {
    bool transmit = false;
    uint8_t byte = 0;
    bool rx_space = false;
  };

  uint8_t read_register(uint64_t reg, Effects& effects);
  void write_register(uint64_t reg, uint8_t value, Effects& effects);
  uint8_t read_rbr(Effects& effects);
  uint8_t read_iir();
  uint8_t read_lsr();
  uint8_t read_msr();
  void write_thr(uint8_t value, Effects& effects);
  void write_ier(uint8_t value);
  void write_fcr(uint8_t value, Effects& effects);
  void write_lcr(uint8_t value);
  void write_mcr(uint8_t value, Effects& effects);
  void apply(const Effects& effects);
  void update_irq();

  bool fifo_enabled() const;
  bool loopback() const;
  size_t rx_capacity() const;
  size_t trigger_level() const;
  uint8_t pending_interrupt_id() const;
  uint8_t line_status() const;
  uint8_t loopback_modem_lines() const;
  void set_modem_lines(uint8_t lines);
  void rx_push(uint8_t byte, uint8_t errors);
  RxEntry rx_pop();
  void rx_clear();
  void loopback_receive(uint8_t byte, uint8_t errors);

  const uint16_t base_;
  const Output output_;
  std::function<void()> rx_space_callback_;
  std::function<void(bool)> irq_callback_;

  std::mutex output_mutex_;  // serializes output_ calls
  std::mutex irq_mutex_;     // serializes irq_callback_ calls; taken before mutex_
  bool irq_level_ = false;   // last level reported, guarded by irq_mutex_

  mutable std::mutex mutex_;  // guards everything below
  std::array<RxEntry, kFifoSize> rx_{};
  size_t rx_head_ = 0;
  size_t rx_count_ = 0;
  bool rx_front_errors_reported_ = false;  // LSR read since the front byte reached the top
  bool overrun_ = false;
  uint8_t rbr_ = 0;             // last byte read, read again when the FIFO is empty
  bool thr_interrupt_ = false;  // THR-empty interrupt armed (cleared by IIR read or IER)
  uint16_t divisor_ = 12;       // 9600 baud; real hardware leaves it undefined at reset
  uint8_t ier_ = 0;
  uint8_t fcr_ = 0;
  uint8_t lcr_ = 0;
  uint8_t mcr_ = 0;
  uint8_t msr_lines_;       // MSR bits 7..4
  uint8_t msr_deltas_ = 0;  // MSR bits 3..0, cleared when MSR is read
  uint8_t scr_ = 0;
};

}  // namespace kagami
