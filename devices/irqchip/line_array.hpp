// Builds a std::array of per-input IrqLine adapters, each knowing its owner and its index.
#pragma once

#include <array>
#include <cstddef>
#include <utility>

namespace kagami::irqchip {

// Line must be constructible from (Owner&, unsigned index); it need not be default-constructible,
// which std::array would otherwise require.
template <typename Line, size_t N, typename Owner>
std::array<Line, N> make_lines(Owner& owner) {
  return [&owner]<size_t... I>(std::index_sequence<I...>) {
    return std::array<Line, N>{Line(owner, static_cast<unsigned>(I))...};
  }
  (std::make_index_sequence<N>());
}

}  // namespace kagami::irqchip
