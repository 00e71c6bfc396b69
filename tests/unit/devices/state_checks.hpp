// GoogleTest checks shared by the device state tests: a state carried to a fresh device, also
// through the FDT state tree; a refused state names its field and leaves the device as it was.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "fdt_state.hpp"
#include "state_fake.hpp"

namespace kagami::testing {

// Saves `from` and loads the state into `to`, a fresh device; returns the saved tree.
template <typename Device>
StateNode copy_state(const Device& from, Device& to) {
  StateNode tree = save(from);
  load(to, tree);
  return tree;
}

// The same through the FDT state tree that migration sends: `from` saved under a node of that
// name, the blob read back and loaded into `to`.
template <typename Device>
void copy_state_through_fdt(const Device& from, Device& to, std::string_view node) {
  FdtStateWriter writer(kStateKind);
  writer.begin_node(node);
  from.save_state(writer);
  writer.end_node();
  std::vector<uint8_t> blob = writer.finish();
  FdtStateReader reader(blob, kStateKind);
  to.load_state(*reader.node(node));
}

// Loads `tree` changed by `spoil` into `target`, expecting a StateError whose message names
// `field`, and the target's own saved state unchanged by the attempt.
template <typename Device>
void expect_refused(Device& target, StateNode tree, const std::function<void(StateNode&)>& spoil,
                    std::string_view field) {
  spoil(tree);
  StateNode before = save(target);
  try {
    load(target, tree);
    ADD_FAILURE() << "a state with a bad " << field << " was accepted";
  } catch (const StateError& error) {
    EXPECT_NE(std::string(error.what()).find(field), std::string::npos) << error.what();
  }
  EXPECT_TRUE(save(target) == before) << "a refused load changed the device";
}

// One malformed state: how the saved tree is spoiled, and the field its error must name.
struct Spoiled {
  std::function<void(StateNode&)> spoil;
  std::string_view field;
};

// expect_refused for each case in turn, on the same target and tree.
template <typename Device>
void expect_each_refused(Device& target, const StateNode& tree,
                         std::initializer_list<Spoiled> cases) {
  int index = 0;
  for (const Spoiled& spoiled : cases) {
    SCOPED_TRACE("malformed state #" + std::to_string(index++) + ", " + std::string(spoiled.field));
    expect_refused(target, tree, spoiled.spoil, spoiled.field);
  }
}

// Spoilers: a field or a node removed, a field given the wrong size, or set to a value.
inline auto without(std::string node, std::string field) {
  return [=](StateNode& tree) { tree.at(node).fields.erase(field); };
}
inline auto without_node(std::string node) {
  return [=](StateNode& tree) { tree.children.erase(node); };
}
inline auto resized(std::string node, std::string field, size_t size) {
  return [=](StateNode& tree) { tree.at(node).fields.at(field).resize(size); };
}
inline auto set_u32(std::string node, std::string field, uint32_t value) {
  return [=](StateNode& tree) { tree.at(node).set_u32(field, value); };
}
inline auto set_u64(std::string node, std::string field, uint64_t value) {
  return [=](StateNode& tree) { tree.at(node).set_u64(field, value); };
}

}  // namespace kagami::testing
