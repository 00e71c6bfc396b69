// The PC's interrupt controllers in the VMM, wired to the in-kernel local APICs.
#include "core/pc_interrupts.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace kagami {

PcInterrupts::PcInterrupts(Vm& vm, EventLoop& loop) : vm_(vm) {
  vm_.enable_split_irqchip(Ioapic::kPins);
  pic_ = std::make_unique<I8259Pair>();
  ioapic_ = std::make_unique<Ioapic>(static_cast<MsiSink&>(*this));
  isa_ = std::make_unique<IsaIrqRouter>(*pic_, *ioapic_);
  pit_timer_ = std::make_unique<DeadlineTimer>(loop, [this] { pit_->timer_expired(); });
  pit_ = std::make_unique<I8254>(
      isa_->irq(0), [this](std::optional<uint64_t> deadline) { pit_timer_->arm(deadline); });
  port61_ = std::make_unique<Port61>(*pit_);
  ioapic_->set_route_listener(
      [this](unsigned pin, const IoapicRoute& route) { route_changed(pin, route); });
  pic_->set_output_callback([this](bool high) {
    if (high && extint_kick_) extint_kick_();
  });
}

PcInterrupts::~PcInterrupts() = default;

void PcInterrupts::attach(Bus& io, Bus& mmio) {
  pic_->attach(io);
  ioapic_->attach(mmio);
  pit_->attach(io);
  port61_->attach(io);
}

void PcInterrupts::add_devices(std::vector<NamedDevice>& out) const {
  out.push_back({"ioapic@fec00000", ioapic_.get()});
  out.push_back({"pic", pic_.get()});
  out.push_back({"pit@40", pit_.get()});
  out.push_back({"port61@61", port61_.get()});
}

void PcInterrupts::before_run(Vcpu& boot_vcpu) {
  kvm_run* run = boot_vcpu.run_page();
  // Once per KVM_RUN of the boot vCPU: ask the PIC again only after an acknowledge.
  bool pending = pic_->output();
  if (pending && run->ready_for_interrupt_injection) {
    if (std::optional<uint8_t> vector = pic_->acknowledge()) boot_vcpu.interrupt(*vector);
    pending = pic_->output();
  }
  // Still something waiting: KVM_RUN returns (KVM_EXIT_IRQ_WINDOW_OPEN) once it can go in.
  run->request_interrupt_window = pending ? 1 : 0;
}

void PcInterrupts::signal_msi(uint64_t address, uint32_t data) {
  vm_.signal_msi(address, data);
}

// KVM finds the level-triggered vectors that need KVM_EXIT_IOAPIC_EOI in the MSI routes of
// the IOAPIC's GSIs, so every change of a redirection entry is mirrored there. Masked entries
// keep their route: Linux masks a level entry while its handler runs and sends the EOI while it
// is still masked, and that EOI must reach the IOAPIC to clear remote IRR.
void PcInterrupts::route_changed(unsigned pin, const IoapicRoute& route) {
  std::lock_guard guard(routes_lock_);
  IoapicRoute& known = routes_.at(pin);
  // A mask toggle alone changes nothing KVM sees, and KVM_SET_GSI_ROUTING waits for an RCU
  // grace period: skip it.
  if (known.address == route.address && known.data == route.data) {
    known = route;
    return;
  }
  known = route;
  commit_routes();
}

void PcInterrupts::set_msi_route(uint32_t gsi, uint64_t address, uint32_t data) {
  if (gsi < Ioapic::kPins)
    throw std::invalid_argument("GSI " + std::to_string(gsi) + " is an IOAPIC pin's");
  std::lock_guard guard(routes_lock_);
  extra_routes_[gsi] = {gsi, address, data};
  commit_routes();
}

void PcInterrupts::commit_routes() {
  std::vector<Vm::MsiRoute> table;
  for (unsigned n = 0; n < routes_.size(); n++)
    table.push_back({n, routes_[n].address, routes_[n].data});
  for (const auto& [gsi, route] : extra_routes_) table.push_back(route);
  vm_.set_msi_routes(table);
}

}  // namespace kagami
