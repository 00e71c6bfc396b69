// Device and vCPU state as a tree of named nodes with named fields: what each device implements.
//
// Devices write and read their state through StateWriter / StateReader and never know the wire
// format (vmm/state/ serialises the tree as a flattened device tree with libfdt). Field and node
// names are short lowercase words with '-' (FDT property and node name rules).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kagami {

// State that cannot be read: a missing node or field, a field of the wrong size, a value out of
// its bounds. The message names the field by its path ("serial@3f8/lcr: 8 bytes, expected 4").
class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes one node. Values are stored as big-endian 32-bit cells (u64: two cells).
class StateWriter {
 public:
  virtual ~StateWriter() = default;
  virtual void u32(std::string_view name, uint32_t value) = 0;
  virtual void u64(std::string_view name, uint64_t value) = 0;
  virtual void bytes(std::string_view name, std::span<const uint8_t> value) = 0;
  virtual void string(std::string_view name, std::string_view value) = 0;
  // A child node: fields written until the matching end_node() belong to it.
  virtual void begin_node(std::string_view name) = 0;
  virtual void end_node() = 0;

  void flag(std::string_view name, bool value) { u32(name, value ? 1 : 0); }
  void u8(std::string_view name, uint8_t value) { u32(name, value); }
  void u16(std::string_view name, uint16_t value) { u32(name, value); }
};

// Reads one node. Every accessor checks the field's presence and exact size and throws
// StateError naming it; the bounded ones also check the value.
class StateReader {
 public:
  virtual ~StateReader() = default;
  virtual bool has(std::string_view name) const = 0;
  virtual uint32_t u32(std::string_view name) const = 0;
  virtual uint64_t u64(std::string_view name) const = 0;
  // Exactly out.size() bytes.
  virtual void bytes(std::string_view name, std::span<uint8_t> out) const = 0;
  // At most max_size bytes.
  virtual std::vector<uint8_t> bytes(std::string_view name, size_t max_size) const = 0;
  virtual std::string string(std::string_view name, size_t max_size) const = 0;
  virtual bool has_node(std::string_view name) const = 0;
  virtual std::unique_ptr<StateReader> node(std::string_view name) const = 0;
  // The path of this node, for messages ("/devices/serial@3f8").
  virtual std::string path() const = 0;

  // u32 checked against [0, max]; throws StateError naming the field and the bound.
  uint32_t u32_max(std::string_view name, uint32_t max) const {
    uint32_t value = u32(name);
    if (value > max)
      throw StateError(path() + "/" + std::string(name) + ": " + std::to_string(value) +
                       " is above its maximum " + std::to_string(max));
    return value;
  }
  bool flag(std::string_view name) const { return u32_max(name, 1) != 0; }
  uint8_t u8(std::string_view name) const { return static_cast<uint8_t>(u32_max(name, 0xff)); }
  uint16_t u16(std::string_view name) const { return static_cast<uint16_t>(u32_max(name, 0xffff)); }
};

// A device (or any part of the machine) whose state migrates.
//
// save_state is called with every vCPU paused; it takes the device's own locks as a guest
// access would. load_state reads and checks every field first and changes the device only when
// all are valid, so a refused state leaves the device as it was. Time is saved relative to the
// moment of saving (a timer due in 3 ms is "due in 3 ms" on the destination).
class Stateful {
 public:
  virtual ~Stateful() = default;
  virtual void save_state(StateWriter& out) const = 0;
  virtual void load_state(const StateReader& in) = 0;
};

}  // namespace kagami
