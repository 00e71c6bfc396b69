// 8259A pair: initialization words, operation commands, priorities, cascade and INTA.
#include "i8259.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#include "line_array.hpp"

namespace kagami {
namespace {

constexpr unsigned kCascadeIrq = 2;
constexpr unsigned kNoPriority = 8;
constexpr uint8_t kSpuriousIrq = 7;

// The PIIX's ELCR cannot make the timer, keyboard, cascade, RTC or FPU inputs level-triggered.
constexpr uint8_t kMasterElcrMask = 0xf8, kSlaveElcrMask = 0xde;

constexpr uint8_t kIcw1 = 0x10, kIcw1NeedsIcw4 = 0x01, kIcw1Single = 0x02, kIcw1Level = 0x08;
constexpr uint8_t kOcw3 = 0x08, kOcw3Poll = 0x04, kOcw3ReadRegister = 0x02, kOcw3ReadIsr = 0x01,
                  kOcw3SetSpecialMask = 0x40, kOcw3SpecialMask = 0x20;
constexpr uint8_t kIcw4AutoEoi = 0x02, kIcw4SpecialFullyNested = 0x10;
constexpr uint8_t kPollInterrupt = 0x80;

enum InitState : uint8_t { kReady = 0, kWantIcw2 = 1, kWantIcw3 = 2, kWantIcw4 = 3 };

// Priority 0 is the highest; priority_add rotates which IRQ has it.
unsigned priority_of_highest(uint8_t mask, uint8_t priority_add) {
  if (mask == 0) return kNoPriority;
  unsigned priority = 0;
  while (!(mask & (1u << ((priority + priority_add) & 7)))) ++priority;
  return priority;
}

}  // namespace

bool I8259Pair::Chip::level_triggered(unsigned irq) const {
  return level_triggered_all || (elcr & (1u << irq));
}

// Edge inputs latch a request on a rising edge; level inputs request while they are high.
void I8259Pair::Chip::set_input(unsigned irq, bool level) {
  uint8_t mask = static_cast<uint8_t>(1u << irq);
  if (level_triggered(irq)) {
    irr = level ? irr | mask : irr & ~mask;
  } else if (level && !(lines & mask)) {
    irr |= mask;
  }
  lines = level ? lines | mask : lines & ~mask;
}

// The IRQ that would be signalled now, or -1: the highest-priority unmasked request, if no
// interrupt of the same or higher priority is in service.
int I8259Pair::Chip::pending_irq() const {
  unsigned priority = priority_of_highest(irr & ~imr, priority_add);
  if (priority == kNoPriority) return -1;
  uint8_t in_service = isr;
  if (special_mask) in_service &= ~imr;
  // In special fully nested mode the slave may interrupt its own in-service cascade input.
  if (special_fully_nested && is_master) in_service &= ~(1u << kCascadeIrq);
  if (priority >= priority_of_highest(in_service, priority_add)) return -1;
  return static_cast<int>((priority + priority_add) & 7);
}

void I8259Pair::Chip::intack(unsigned irq) {
  if (auto_eoi) {
    if (rotate_on_auto_eoi) priority_add = (irq + 1) & 7;
  } else {
    isr |= static_cast<uint8_t>(1u << irq);
  }
  if (!level_triggered(irq)) irr &= ~(1u << irq);
}

// ICW1 starts initialization: IMR, ISR, priorities and the ICW4 functions are cleared, and the
// edge-sense latches are reset, so an edge input must rise again to request. ELCR stays.
void I8259Pair::Chip::reset_for_icw1(uint8_t icw1) {
  level_triggered_all = icw1 & kIcw1Level;
  uint8_t level_inputs = level_triggered_all ? 0xff : elcr;
  irr = lines & level_inputs;
  imr = 0;
  isr = 0;
  priority_add = 0;
  special_mask = false;
  read_isr = false;
  poll = false;
  auto_eoi = false;
  rotate_on_auto_eoi = false;
  special_fully_nested = false;
  needs_icw4 = icw1 & kIcw1NeedsIcw4;
  single = icw1 & kIcw1Single;
  init_state = kWantIcw2;
}

void I8259Pair::Chip::write_command(uint8_t value) {
  if (value & kIcw1) {
    reset_for_icw1(value);
  } else if (value & kOcw3) {
    if (value & kOcw3Poll) poll = true;
    if (value & kOcw3ReadRegister) read_isr = value & kOcw3ReadIsr;
    if (value & kOcw3SetSpecialMask) special_mask = value & kOcw3SpecialMask;
  } else {
    write_ocw2(value);
  }
}

void I8259Pair::Chip::write_ocw2(uint8_t value) {
  unsigned level = value & 7;
  switch (value >> 5) {
    case 0: rotate_on_auto_eoi = false; break;
    case 4: rotate_on_auto_eoi = true; break;
    case 1:    // non-specific EOI
    case 5: {  // rotate on non-specific EOI
      unsigned priority = priority_of_highest(isr, priority_add);
      if (priority == kNoPriority) break;
      unsigned irq = (priority + priority_add) & 7;
      isr &= ~(1u << irq);
      if (value >> 5 == 5) priority_add = (irq + 1) & 7;
      break;
    }
    case 3: isr &= ~(1u << level); break;  // specific EOI
    case 6: priority_add = (level + 1) & 7; break;
    case 7:  // rotate on specific EOI
      isr &= ~(1u << level);
      priority_add = (level + 1) & 7;
      break;
    default: break;  // 2: no operation
  }
}

// ICW3's cascade wiring is fixed on a PC, so its value is not kept.
void I8259Pair::Chip::write_data(uint8_t value) {
  switch (init_state) {
    case kReady: imr = value; break;
    case kWantIcw2:
      vector_base = value & 0xf8;
      init_state = single ? (needs_icw4 ? kWantIcw4 : kReady) : kWantIcw3;
      break;
    case kWantIcw3: init_state = needs_icw4 ? kWantIcw4 : kReady; break;
    default:
      special_fully_nested = value & kIcw4SpecialFullyNested;
      auto_eoi = value & kIcw4AutoEoi;
      init_state = kReady;
      break;
  }
}

// A poll command makes the next read an INTA of this chip alone: bit 7 says whether there was
// a request, bits 2:0 which.
uint8_t I8259Pair::Chip::read(bool command_port) {
  if (poll) {
    poll = false;
    int irq = pending_irq();
    if (irq < 0) return 0;
    intack(static_cast<unsigned>(irq));
    return static_cast<uint8_t>(kPollInterrupt | irq);
  }
  if (!command_port) return imr;
  return read_isr ? isr : irr;
}

I8259Pair::I8259Pair() : inputs_(irqchip::make_lines<Input, kIrqs>(*this)) {
  reset_chips();
}

void I8259Pair::reset() {
  std::lock_guard lock(mutex_);
  reset_chips();
  update_output();
}

void I8259Pair::reset_chips() {
  uint8_t master_lines = master_.lines, slave_lines = slave_.lines;
  master_ = Chip{};
  slave_ = Chip{};
  master_.lines = master_lines;
  slave_.lines = slave_lines;
  master_.is_master = true;
  master_.elcr_mask = kMasterElcrMask;
  slave_.elcr_mask = kSlaveElcrMask;
}

IrqLine& I8259Pair::irq(unsigned isa_irq) {
  if (isa_irq >= kIrqs) {
    throw std::out_of_range("isa irq " + std::to_string(isa_irq) + " does not exist on the pic");
  }
  return inputs_[isa_irq];
}

bool I8259Pair::output() const {
  std::lock_guard lock(mutex_);
  return output_;
}

void I8259Pair::set_output_callback(std::function<void(bool)> callback) {
  std::lock_guard lock(mutex_);
  output_callback_ = std::move(callback);
}

void I8259Pair::set_irq_level(unsigned irq, bool level) {
  std::lock_guard lock(mutex_);
  Chip& chip = irq < 8 ? master_ : slave_;
  // IRQ 2 on the master is the slave's INT; a device cannot drive it.
  if (irq == kCascadeIrq) return;
  chip.set_input(irq & 7, level);
  update_output();
}

void I8259Pair::update_output() {
  master_.set_input(kCascadeIrq, slave_.pending_irq() >= 0);
  bool level = master_.pending_irq() >= 0;
  if (level == output_) return;
  output_ = level;
  if (output_callback_) output_callback_(level);
}

std::optional<uint8_t> I8259Pair::acknowledge() {
  std::lock_guard lock(mutex_);
  int irq = master_.pending_irq();
  if (irq < 0) return std::nullopt;
  uint8_t vector;
  if (irq == static_cast<int>(kCascadeIrq)) {
    int slave_irq = slave_.pending_irq();
    if (slave_irq >= 0) {
      slave_.intack(static_cast<unsigned>(slave_irq));
      vector = static_cast<uint8_t>(slave_.vector_base + slave_irq);
    } else {
      vector = slave_.vector_base + kSpuriousIrq;
    }
    // The slave's INT falls during its INTA, so a request it still has makes a fresh edge.
    master_.set_input(kCascadeIrq, false);
  } else {
    vector = static_cast<uint8_t>(master_.vector_base + irq);
  }
  master_.intack(static_cast<unsigned>(irq));
  update_output();
  return vector;
}

uint8_t I8259Pair::port_read(Block block, uint64_t offset) {
  std::lock_guard lock(mutex_);
  if (block == Block::kElcr) return offset == 0 ? master_.elcr : slave_.elcr;
  Chip& chip = block == Block::kMaster ? master_ : slave_;
  bool polled = chip.poll;
  uint8_t value = chip.read(offset == 0);
  if (polled) update_output();
  return value;
}

void I8259Pair::port_write(Block block, uint64_t offset, uint8_t value) {
  std::lock_guard lock(mutex_);
  if (block == Block::kElcr) {
    Chip& chip = offset == 0 ? master_ : slave_;
    chip.elcr = value & chip.elcr_mask;
    // Inputs that just became level-triggered request exactly while they are high.
    uint8_t level_inputs = chip.level_triggered_all ? 0xff : chip.elcr;
    chip.irr = (chip.irr & ~level_inputs) | (chip.lines & level_inputs);
  } else {
    Chip& chip = block == Block::kMaster ? master_ : slave_;
    if (offset == 0) {
      chip.write_command(value);
    } else {
      chip.write_data(value);
    }
  }
  update_output();
}

void I8259Pair::Ports::read(uint64_t offset, std::span<uint8_t> data) {
  for (uint8_t& byte : data) byte = pair_.port_read(block_, offset);
}

void I8259Pair::Ports::write(uint64_t offset, std::span<const uint8_t> data) {
  for (uint8_t byte : data) pair_.port_write(block_, offset, byte);
}

}  // namespace kagami
