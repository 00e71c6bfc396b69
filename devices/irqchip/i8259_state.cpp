// 8259A pair saved state: each chip's registers and modes, its input levels and its ELCR byte.
#include "i8259.hpp"
#include "state_fields.hpp"

namespace kagami {
namespace {

constexpr uint8_t kLastInitState = 3;  // waiting for ICW4

}  // namespace

void I8259Pair::Chip::save(StateWriter& out) const {
  out.u8("lines", lines);
  out.u8("irr", irr);
  out.u8("imr", imr);
  out.u8("isr", isr);
  out.u8("elcr", elcr);
  out.u8("priority-add", priority_add);
  out.u8("vector-base", vector_base);
  out.u8("init-state", init_state);
  out.flag("needs-icw4", needs_icw4);
  out.flag("single", single);
  out.flag("level-triggered", level_triggered_all);
  out.flag("auto-eoi", auto_eoi);
  out.flag("rotate-on-auto-eoi", rotate_on_auto_eoi);
  out.flag("special-nested", special_fully_nested);
  out.flag("special-mask", special_mask);
  out.flag("read-isr", read_isr);
  out.flag("poll", poll);
}

// elcr_mask and is_master are the wiring of this chip, not state: they stay.
I8259Pair::Chip I8259Pair::Chip::loaded(const StateReader& in) const {
  using state_fields::require;
  Chip chip = *this;
  chip.lines = in.u8("lines");
  chip.irr = in.u8("irr");
  chip.imr = in.u8("imr");
  chip.isr = in.u8("isr");
  chip.elcr = in.u8("elcr");
  require(!(chip.elcr & ~elcr_mask), in, "elcr", "an input that is always edge-triggered is level");
  chip.priority_add = static_cast<uint8_t>(in.u32_max("priority-add", 7));
  chip.vector_base = in.u8("vector-base");
  require(!(chip.vector_base & 7), in, "vector-base", "not a multiple of 8");
  chip.init_state = static_cast<uint8_t>(in.u32_max("init-state", kLastInitState));
  chip.needs_icw4 = in.flag("needs-icw4");
  chip.single = in.flag("single");
  chip.level_triggered_all = in.flag("level-triggered");
  chip.auto_eoi = in.flag("auto-eoi");
  chip.rotate_on_auto_eoi = in.flag("rotate-on-auto-eoi");
  chip.special_fully_nested = in.flag("special-nested");
  chip.special_mask = in.flag("special-mask");
  chip.read_isr = in.flag("read-isr");
  chip.poll = in.flag("poll");
  return chip;
}

void I8259Pair::save_state(StateWriter& out) const {
  std::lock_guard lock(mutex_);
  out.begin_node("master");
  master_.save(out);
  out.end_node();
  out.begin_node("slave");
  slave_.save(out);
  out.end_node();
}

void I8259Pair::load_state(const StateReader& in) {
  std::unique_ptr<StateReader> master_in = in.node("master");
  std::unique_ptr<StateReader> slave_in = in.node("slave");
  std::lock_guard lock(mutex_);
  Chip master = master_.loaded(*master_in);
  Chip slave = slave_.loaded(*slave_in);
  master_ = master;
  slave_ = slave;
  // The cascade input already holds the slave's INT as saved, so this only settles INT.
  update_output();
}

}  // namespace kagami
