// A device whose state migrates, with the name of its node in the state tree.
#pragma once

#include <string>

#include "kagami/state.hpp"

namespace kagami {

// The node is named as the device is known on a PC: "serial@3f8", "ioapic@fec00000", "pic".
struct NamedDevice {
  std::string node;
  Stateful* device;
};

}  // namespace kagami
