// i8042 keyboard controller: just enough for guests to probe it and to reset the machine (0xFE).
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

// No keyboard input and no interrupts. The controller answers its own commands (read/write
// command byte, self tests, output port) through the output buffer at the data port, and a
// keyboard that acknowledges every byte sent to it with 0xFA. Only command 0xFE at the command
// port (pulse the reset line) resets; QEMU also resets on the other even 0xF0..0xFC pulse
// commands and on an output-port write with bit 0 clear, which kagami does not.
class I8042 final : public Stateful {
 public:
  static constexpr uint16_t kDefaultDataPort = 0x60;
  static constexpr uint16_t kDefaultCommandPort = 0x64;

  // on_reset runs on the vCPU thread that wrote the command, with no lock held.
  explicit I8042(std::function<void()> on_reset, uint16_t data_port = kDefaultDataPort,
                 uint16_t command_port = kDefaultCommandPort);

  // Joins the port bus at the data port (0x60) and the status/command port (0x64), byte-wide.
  void attach(Bus& io);

  // Stateful: the answers waiting at the data port, the command byte, the output port and any
  // command waiting for its data byte.
  void save_state(StateWriter& out) const override;
  void load_state(const StateReader& in) override;

 private:
  // One BusDevice per port, as the two ports are not adjacent (0x61 is the PC's port B).
  class Port final : public BusDevice {
   public:
    Port(I8042& controller, bool command) : controller_(controller), command_(command) {}
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

   private:
    I8042& controller_;
    const bool command_;
  };

  uint8_t read_data();
  uint8_t read_status();
  void write_data(uint8_t value);
  bool write_command(uint8_t value);  // true when the machine must reset
  void answer(uint8_t byte);

  const uint16_t data_port_;
  const uint16_t command_port_;
  const std::function<void()> on_reset_;
  Port data_{*this, false};
  Port command_{*this, true};

  mutable std::mutex mutex_;         // guards everything below
  std::array<uint8_t, 8> output_{};  // bytes waiting at the data port
  size_t output_head_ = 0;
  size_t output_count_ = 0;
  uint8_t last_output_ = 0;       // read again when the buffer is empty
  uint8_t command_byte_ = 0x45;   // keyboard irq, system flag, scancode translation
  uint8_t output_port_ = 0x03;    // reset line high (inactive), A20 enabled
  uint8_t pending_command_ = 0;   // controller command waiting for its data byte
  uint8_t pending_keyboard_ = 0;  // keyboard command waiting for its parameter byte
  bool last_write_command_ = false;
};

}  // namespace kagami
