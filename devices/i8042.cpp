// i8042: status and output buffer, minimal command set, reset on 0xFE.
#include "i8042.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "state_fields.hpp"

namespace kagami {
namespace {

constexpr uint8_t kStatusOutputFull = 0x01, kStatusSystem = 0x04, kStatusCommand = 0x08,
                  kStatusUnlocked = 0x10;

constexpr uint8_t kCmdReadCommandByte = 0x20, kCmdWriteCommandByte = 0x60, kCmdDisableAux = 0xa7,
                  kCmdEnableAux = 0xa8, kCmdTestAux = 0xa9, kCmdSelfTest = 0xaa,
                  kCmdTestKeyboard = 0xab, kCmdDisableKeyboard = 0xad, kCmdEnableKeyboard = 0xae,
                  kCmdReadOutputPort = 0xd0, kCmdWriteOutputPort = 0xd1, kCmdWriteAux = 0xd4,
                  kCmdPulseReset = 0xfe;

constexpr uint8_t kCommandByteSystem = 0x04, kCommandByteKeyboardOff = 0x10,
                  kCommandByteAuxOff = 0x20;

constexpr uint8_t kSelfTestPassed = 0x55, kInterfaceTestPassed = 0x00;
constexpr uint8_t kKeyboardAck = 0xfa, kKeyboardSelfTestPassed = 0xaa;
constexpr uint8_t kKeyboardSetLeds = 0xed, kKeyboardScancodeSet = 0xf0, kKeyboardIdentify = 0xf2,
                  kKeyboardTypematic = 0xf3, kKeyboardReset = 0xff;

bool takes_parameter(uint8_t keyboard_command) {
  return keyboard_command == kKeyboardSetLeds || keyboard_command == kKeyboardScancodeSet ||
         keyboard_command == kKeyboardTypematic;
}

}  // namespace

I8042::I8042(std::function<void()> on_reset, uint16_t data_port, uint16_t command_port)
    : data_port_(data_port), command_port_(command_port), on_reset_(std::move(on_reset)) {}

void I8042::attach(Bus& io) {
  io.add(data_port_, 1, data_, kWidth1, "i8042 data");
  io.add(command_port_, 1, command_, kWidth1, "i8042 command");
}

void I8042::Port::read(uint64_t, std::span<uint8_t> data) {
  for (uint8_t& byte : data) byte = command_ ? controller_.read_status() : controller_.read_data();
}

void I8042::Port::write(uint64_t, std::span<const uint8_t> data) {
  for (uint8_t value : data) {
    if (!command_) {
      controller_.write_data(value);
    } else if (controller_.write_command(value) && controller_.on_reset_) {
      controller_.on_reset_();
    }
  }
}

uint8_t I8042::read_status() {
  std::lock_guard lock(mutex_);
  uint8_t status = kStatusUnlocked;
  if (output_count_ > 0) status |= kStatusOutputFull;
  if (command_byte_ & kCommandByteSystem) status |= kStatusSystem;
  if (last_write_command_) status |= kStatusCommand;
  return status;
}

uint8_t I8042::read_data() {
  std::lock_guard lock(mutex_);
  if (output_count_ > 0) {
    last_output_ = output_[output_head_];
    output_head_ = (output_head_ + 1) % output_.size();
    --output_count_;
  }
  return last_output_;
}

void I8042::answer(uint8_t byte) {
  // Full only when the guest sends command after command without reading the answers.
  if (output_count_ == output_.size()) return;
  output_[(output_head_ + output_count_) % output_.size()] = byte;
  ++output_count_;
}

// A data byte completes a pending controller command, or else goes to the keyboard.
void I8042::write_data(uint8_t value) {
  std::lock_guard lock(mutex_);
  last_write_command_ = false;
  uint8_t command = std::exchange(pending_command_, 0);
  if (command == kCmdWriteCommandByte) {
    command_byte_ = value;
  } else if (command == kCmdWriteOutputPort) {
    output_port_ = value | 0x01;  // the reset line is only pulsed by 0xFE here
  } else if (command == kCmdWriteAux) {
    // No mouse: the byte goes nowhere.
  } else if (pending_keyboard_ != 0) {
    pending_keyboard_ = 0;
    answer(kKeyboardAck);
  } else {
    answer(kKeyboardAck);
    if (takes_parameter(value)) pending_keyboard_ = value;
    if (value == kKeyboardReset) answer(kKeyboardSelfTestPassed);
    if (value == kKeyboardIdentify) {
      answer(0xab);  // MF2 keyboard with translation
      answer(0x83);
    }
  }
}

bool I8042::write_command(uint8_t value) {
  std::lock_guard lock(mutex_);
  last_write_command_ = true;
  pending_command_ = 0;
  switch (value) {
    case kCmdReadCommandByte: answer(command_byte_); break;
    case kCmdWriteCommandByte:
    case kCmdWriteOutputPort:
    case kCmdWriteAux: pending_command_ = value; break;
    case kCmdDisableAux: command_byte_ |= kCommandByteAuxOff; break;
    case kCmdEnableAux: command_byte_ &= ~kCommandByteAuxOff; break;
    case kCmdDisableKeyboard: command_byte_ |= kCommandByteKeyboardOff; break;
    case kCmdEnableKeyboard: command_byte_ &= ~kCommandByteKeyboardOff; break;
    case kCmdSelfTest: answer(kSelfTestPassed); break;
    case kCmdTestAux:
    case kCmdTestKeyboard: answer(kInterfaceTestPassed); break;
    case kCmdReadOutputPort: answer(output_port_); break;
    case kCmdPulseReset: return true;
    default: break;  // accepted and ignored
  }
  return false;
}

void I8042::save_state(StateWriter& out) const {
  std::lock_guard lock(mutex_);
  std::vector<uint8_t> waiting;
  for (size_t i = 0; i < output_count_; ++i)
    waiting.push_back(output_[(output_head_ + i) % output_.size()]);
  out.bytes("output", waiting);
  out.u8("last-output", last_output_);
  out.u8("command-byte", command_byte_);
  out.u8("output-port", output_port_);
  out.u8("pending-command", pending_command_);
  out.u8("pending-keyboard", pending_keyboard_);
  out.flag("last-was-command", last_write_command_);
}

void I8042::load_state(const StateReader& in) {
  using state_fields::require;
  std::vector<uint8_t> waiting = in.bytes("output", output_.size());
  uint8_t last_output = in.u8("last-output");
  uint8_t command_byte = in.u8("command-byte");
  uint8_t output_port = in.u8("output-port");
  require(output_port & 0x01, in, "output-port", "the reset line is low");
  uint8_t pending_command = in.u8("pending-command");
  require(pending_command == 0 || pending_command == kCmdWriteCommandByte ||
              pending_command == kCmdWriteOutputPort || pending_command == kCmdWriteAux,
          in, "pending-command", "not a command that waits for a data byte");
  uint8_t pending_keyboard = in.u8("pending-keyboard");
  require(pending_keyboard == 0 || takes_parameter(pending_keyboard), in, "pending-keyboard",
          "not a keyboard command that takes a parameter");
  bool last_was_command = in.flag("last-was-command");

  std::lock_guard lock(mutex_);
  std::copy(waiting.begin(), waiting.end(), output_.begin());
  output_head_ = 0;
  output_count_ = waiting.size();
  last_output_ = last_output;
  command_byte_ = command_byte;
  output_port_ = output_port;
  pending_command_ = pending_command;
  pending_keyboard_ = pending_keyboard;
  last_write_command_ = last_was_command;
}

}  // namespace kagami
