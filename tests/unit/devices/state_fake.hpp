// In-memory StateWriter / StateReader for the device state tests, with ways to spoil a tree.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kagami/state.hpp"

namespace kagami::testing {

// One node: fields as big-endian cells (u32: 4 bytes, u64: 8), raw bytes, or NUL-terminated
// strings, as the FDT tree stores them, so that a size mismatch is caught the same way.
struct StateNode {
  std::map<std::string, std::vector<uint8_t>, std::less<>> fields;
  std::map<std::string, StateNode, std::less<>> children;

  bool operator==(const StateNode&) const = default;

  // The node at a '/'-separated path below this one ("" is this node).
  StateNode& at(std::string_view path) {
    StateNode* node = this;
    while (!path.empty()) {
      size_t slash = path.find('/');
      node = &node->children.at(std::string(path.substr(0, slash)));
      path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    }
    return *node;
  }
  void set_u32(std::string_view field, uint32_t value) {
    fields[std::string(field)] = cells(value, 4);
  }
  void set_u64(std::string_view field, uint64_t value) {
    fields[std::string(field)] = cells(value, 8);
  }

  static std::vector<uint8_t> cells(uint64_t value, size_t size) {
    std::vector<uint8_t> out(size);
    for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(value >> (8 * (size - 1 - i)));
    return out;
  }
};

class FakeStateWriter final : public StateWriter {
 public:
  void u32(std::string_view name, uint32_t value) override {
    put(name, StateNode::cells(value, 4));
  }
  void u64(std::string_view name, uint64_t value) override {
    put(name, StateNode::cells(value, 8));
  }
  void bytes(std::string_view name, std::span<const uint8_t> value) override {
    put(name, {value.begin(), value.end()});
  }
  void string(std::string_view name, std::string_view value) override {
    std::vector<uint8_t> data(value.begin(), value.end());
    data.push_back(0);
    put(name, std::move(data));
  }
  void begin_node(std::string_view name) override {
    StateNode& parent = *stack_.back();
    if (parent.children.count(name)) throw StateError("duplicate node " + std::string(name));
    stack_.push_back(&parent.children[std::string(name)]);
  }
  void end_node() override {
    if (stack_.size() == 1) throw StateError("end_node without begin_node");
    stack_.pop_back();
  }

  StateNode root;

 private:
  void put(std::string_view name, std::vector<uint8_t> value) {
    StateNode& node = *stack_.back();
    if (node.fields.count(name)) throw StateError("duplicate field " + std::string(name));
    node.fields[std::string(name)] = std::move(value);
  }
  std::vector<StateNode*> stack_{&root};
};

class FakeStateReader final : public StateReader {
 public:
  explicit FakeStateReader(const StateNode& node, std::string path = "/")
      : node_(node), path_(std::move(path)) {}

  bool has(std::string_view name) const override { return node_.fields.count(name) != 0; }
  uint32_t u32(std::string_view name) const override {
    return static_cast<uint32_t>(cells(field(name, 4)));
  }
  uint64_t u64(std::string_view name) const override { return cells(field(name, 8)); }
  void bytes(std::string_view name, std::span<uint8_t> out) const override {
    const std::vector<uint8_t>& value = field(name, out.size());
    std::copy(value.begin(), value.end(), out.begin());
  }
  std::vector<uint8_t> bytes(std::string_view name, size_t max_size) const override {
    const std::vector<uint8_t>& value = field(name);
    if (value.size() > max_size)
      fail(name, std::to_string(value.size()) + " bytes, at most " + std::to_string(max_size));
    return value;
  }
  std::string string(std::string_view name, size_t max_size) const override {
    std::vector<uint8_t> value = bytes(name, max_size + 1);
    if (value.empty() || value.back() != 0) fail(name, "not a string");
    return std::string(value.begin(), value.end() - 1);
  }
  bool has_node(std::string_view name) const override { return node_.children.count(name) != 0; }
  std::unique_ptr<StateReader> node(std::string_view name) const override {
    auto it = node_.children.find(name);
    if (it == node_.children.end())
      throw StateError(path_ + "/" + std::string(name) + ": no such node");
    return std::make_unique<FakeStateReader>(it->second, path_ + "/" + std::string(name));
  }
  std::string path() const override { return path_; }

 private:
  [[noreturn]] void fail(std::string_view name, const std::string& why) const {
    throw StateError(path_ + "/" + std::string(name) + ": " + why);
  }
  const std::vector<uint8_t>& field(std::string_view name) const {
    auto it = node_.fields.find(name);
    if (it == node_.fields.end()) fail(name, "missing");
    return it->second;
  }
  const std::vector<uint8_t>& field(std::string_view name, size_t size) const {
    const std::vector<uint8_t>& value = field(name);
    if (value.size() != size)
      fail(name, std::to_string(value.size()) + " bytes, expected " + std::to_string(size));
    return value;
  }
  static uint64_t cells(const std::vector<uint8_t>& value) {
    uint64_t out = 0;
    for (uint8_t byte : value) out = out << 8 | byte;
    return out;
  }

  const StateNode& node_;
  std::string path_;
};

// Saves `device` into a fresh tree.
template <typename Device>
StateNode save(const Device& device) {
  FakeStateWriter writer;
  device.save_state(writer);
  return writer.root;
}

template <typename Device>
void load(Device& device, const StateNode& tree) {
  device.load_state(FakeStateReader(tree));
}

}  // namespace kagami::testing
