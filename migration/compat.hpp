// The compatibility check: the source's machine description against the destination's.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace kagami {

// Compares two FDT machine descriptions (DescribedVm::describe()) node by node, property by
// property. Returns one line per difference, each naming the property by its path with both
// values ("memory-size: source 1073741824, destination 536870912"), or a single line saying
// which blob is malformed. Empty: the machines match.
std::vector<std::string> describe_differences(std::span<const uint8_t> source,
                                              std::span<const uint8_t> destination);

// The differences as one message for the user (the first few, then how many more).
std::string differences_message(const std::vector<std::string>& differences);

}  // namespace kagami
