// The PC's cascaded 8259A pair (master 0x20-0x21, slave 0xA0-0xA1 on IRQ 2) with its ELCR.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>

#include "kagami/bus.hpp"
#include "kagami/irq.hpp"
#include "kagami/state.hpp"

namespace kagami {

// Two 8259As as wired on every PC: the slave's INT drives the master's IR2, the master's INT is
// the ExtINT input of the BSP's local APIC (LINT0). Modelled (after the 8259A datasheet and
// QEMU's i8259): the ICW1-ICW4 sequence (vector base, single mode, ICW4 auto-EOI, rotate in
// auto-EOI via OCW2, special fully nested mode on the master), OCW1 (IMR), OCW2 (non-specific,
// specific and rotating EOI, set priority), OCW3 (read IRR/ISR, poll, special mask), rotating
// priorities, edge or level triggering per input from ELCR (ports 0x4D0/0x4D1; IRQ 0, 1, 2, 8
// and 13 are always edge, as on the PIIX) or for a whole chip from ICW1's LTIM bit. ICW1 clears
// IMR, ISR and the edge-triggered requests but not ELCR. The buffered-mode and 8080 call
// address bits of the ICWs are accepted and ignored.
//
// The VMM injects what the pair asks for: when the INT output goes high it waits until the
// vCPU can take an interrupt, calls acknowledge() (the INTA cycle) and injects the vector with
// KVM_INTERRUPT.
//
// Threads: one mutex guards both chips; the output callback is called with it held, so it must
// only record the level or kick a vCPU, never call back into the pair.
class I8259Pair final : public Stateful {
 public:
  static constexpr uint16_t kMasterBase = 0x20, kSlaveBase = 0xa0, kElcrBase = 0x4d0;
  static constexpr unsigned kIrqs = 16;

  I8259Pair();
  I8259Pair(const I8259Pair&) = delete;
  I8259Pair& operator=(const I8259Pair&) = delete;

  // Back to the power-on state (for a guest reboot): both chips uninitialized with vector base
  // 0 and nothing masked, ELCR all edge. Input levels stay, as the wires do.
  void reset();

  // Joins the port bus: command/data ports of both chips and the two ELCR bytes, byte-wide.
  // Inline so that this library does not depend on kagami_devices, which links it.
  void attach(Bus& io) {
    io.add(kMasterBase, 2, master_ports_, kWidth1, "pic master");
    io.add(kSlaveBase, 2, slave_ports_, kWidth1, "pic slave");
    io.add(kElcrBase, 2, elcr_ports_, kWidth1, "elcr");
  }

  // The three port ranges, for a VMM that places them itself: offset 0 is the command port
  // (ELCR: the master's byte), offset 1 the data port (ELCR: the slave's byte).
  BusDevice& master_ports() { return master_ports_; }
  BusDevice& slave_ports() { return slave_ports_; }
  BusDevice& elcr_ports() { return elcr_ports_; }

  // The input of ISA IRQ n (0..15; IRQ 2 is the cascade and is not connected to anything else);
  // throws std::out_of_range for other IRQs.
  IrqLine& irq(unsigned isa_irq);

  // The master's INT output: an interrupt is waiting for acknowledge().
  bool output() const;

  // Called with the new level whenever the INT output changes. Set before vCPUs run.
  void set_output_callback(std::function<void(bool)> callback);

  // The INTA cycle: the vector of the highest-priority pending request, which moves from IRR to
  // ISR (or, with auto-EOI, is ended at once). A request that went away after raising INT makes
  // the hardware answer with IRQ 7's (or, through the cascade, IRQ 15's) vector without setting
  // its ISR bit, the spurious interrupt; that is what this returns too. With INT low, no INTA
  // would happen on hardware: nothing changes and this returns nullopt.
  std::optional<uint8_t> acknowledge();

  // Stateful: both chips (registers, initialization and command state, input levels) and ELCR.
  // A load reports the loaded INT level to the output callback when it changed. Load the pair
  // (and the IOAPIC) before the devices that drive their inputs: a device re-asserting its
  // saved level then finds the input already there and changes nothing.
  void save_state(StateWriter& out) const override;
  void load_state(const StateReader& in) override;

 private:
  // One 8259A. Plain state; the pair's mutex guards it.
  struct Chip {
    uint8_t lines = 0;  // input levels as last set
    uint8_t irr = 0;
    uint8_t imr = 0;
    uint8_t isr = 0;
    uint8_t elcr = 0;
    uint8_t elcr_mask = 0;
    uint8_t priority_add = 0;  // the IRQ with the lowest priority is priority_add - 1
    uint8_t vector_base = 0;
    uint8_t init_state = 0;  // next ICW expected on the data port, 0 when initialized
    bool needs_icw4 = false;
    bool single = false;
    bool level_triggered_all = false;  // ICW1 LTIM
    bool auto_eoi = false;
    bool rotate_on_auto_eoi = false;
    bool special_fully_nested = false;
    bool special_mask = false;
    bool read_isr = false;
    bool poll = false;
    bool is_master = false;

    bool level_triggered(unsigned irq) const;
    void set_input(unsigned irq, bool level);
    int pending_irq() const;
    void intack(unsigned irq);
    void reset_for_icw1(uint8_t icw1);
    void write_command(uint8_t value);
    void write_data(uint8_t value);
    void write_ocw2(uint8_t value);
    uint8_t read(bool command_port);
    void save(StateWriter& out) const;
    // This chip with the fields of `in`, all checked; throws StateError naming the bad one.
    Chip loaded(const StateReader& in) const;
  };

  class Input final : public IrqLine {
   public:
    Input(I8259Pair& pair, unsigned irq) : pair_(pair), irq_(irq) {}
    void set_level(bool level) override { pair_.set_irq_level(irq_, level); }

   private:
    I8259Pair& pair_;
    unsigned irq_;
  };

  enum class Block { kMaster, kSlave, kElcr };
  class Ports final : public BusDevice {
   public:
    Ports(I8259Pair& pair, Block block) : pair_(pair), block_(block) {}
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

   private:
    I8259Pair& pair_;
    Block block_;
  };

  void set_irq_level(unsigned irq, bool level);
  void reset_chips();
  void update_output();
  uint8_t port_read(Block block, uint64_t offset);
  void port_write(Block block, uint64_t offset, uint8_t value);

  std::array<Input, kIrqs> inputs_;
  Ports master_ports_{*this, Block::kMaster};
  Ports slave_ports_{*this, Block::kSlave};
  Ports elcr_ports_{*this, Block::kElcr};

  mutable std::mutex mutex_;  // guards everything below
  std::function<void(bool)> output_callback_;
  Chip master_;
  Chip slave_;
  bool output_ = false;
};

}  // namespace kagami
