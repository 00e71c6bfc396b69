// GoogleTest checks shared by the device state tests: a refused state names its field and
// leaves the device as it was.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <string_view>

#include "state_fake.hpp"

namespace kagami::testing {

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

// Spoilers: a field removed, given the wrong size, or set to a value.
inline auto without(std::string node, std::string field) {
  return [=](StateNode& tree) { tree.at(node).fields.erase(field); };
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
