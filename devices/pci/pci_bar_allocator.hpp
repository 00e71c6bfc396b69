// Firmware-style BAR assignment at machine build time, so the guest finds every BAR placed.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "pci/pci_layout.hpp"

namespace kagami {

class PciRoot;

// One BAR to place: its size (a power of two) and, for error messages, who it belongs to.
struct PciBarRequest {
  unsigned slot = 0;
  unsigned index = 0;
  uint64_t size = 0;
};

// Places the requests in `window`, largest first (ties in slot, then BAR order), each naturally
// aligned, packed from the window's base: with power-of-two sizes in decreasing order there are
// no gaps. Returns the addresses in the order of `requests`. Throws std::runtime_error naming the
// first BAR that does not fit and the window (`window_name`) when they do not all fit.
std::vector<uint64_t> place_pci_bars(std::span<const PciBarRequest> requests, pci::Window window,
                                     std::string_view window_name);

// What SeaBIOS or Firecracker do before the kernel runs: every declared BAR of every device on
// `root` gets an address (I/O BARs in the I/O window, 32-bit memory BARs in the 32-bit window,
// 64-bit memory BARs in the 64-bit window), written through config space as firmware writes it,
// and each device's command register gets the I/O and memory enable bits for the spaces its BARs
// use, so the BARs decode from the first guest instruction on. Bus mastering stays off: drivers
// turn it on. Throws std::runtime_error when the BARs do not fit, or when a placed BAR could not
// be decoded (a range already on the bus inside a window), naming the BAR.
void assign_pci_bars(PciRoot& root);

}  // namespace kagami
