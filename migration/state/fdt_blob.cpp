// The structural checks of a state blob: bounds, magic, libfdt's full check, unique names.
#include "fdt_blob.hpp"

#include <libfdt.h>

#include <cstring>
#include <set>
#include <string>
#include <string_view>

#include "fdt_state.hpp"

namespace kagami::fdt_blob {
namespace {

[[noreturn]] void refuse(const std::string& why) {
  throw StateError("state blob: " + why);
}

std::string_view node_name(const void* fdt, int offset) {
  int len = 0;
  const char* name = fdt_get_name(fdt, offset, &len);
  if (!name || len < 0) refuse("a node has no readable name");
  return {name, static_cast<size_t>(len)};
}

// Two fields or two children of one node with the same name would make lookups ambiguous.
void check_unique_names(const void* fdt, int node) {
  std::set<std::string_view> fields;
  int prop;
  fdt_for_each_property_offset(prop, fdt, node) {
    const char* name = nullptr;
    int len = 0;
    if (!fdt_getprop_by_offset(fdt, prop, &name, &len) || !name)
      refuse("a field of node '" + std::string(node_name(fdt, node)) + "' cannot be read");
    if (!fields.insert(name).second)
      refuse("field '" + std::string(name) + "' appears twice in node '" +
             std::string(node_name(fdt, node)) + "'");
  }
  std::set<std::string_view> children;
  int child;
  fdt_for_each_subnode(child, fdt, node) {
    if (!children.insert(node_name(fdt, child)).second)
      refuse("node '" + std::string(node_name(fdt, child)) + "' appears twice in node '" +
             std::string(node_name(fdt, node)) + "'");
  }
}

// libfdt finds a node's properties only before its first subnode: a property after one would be
// data nobody reads. fdt_check_full has checked the tags' structure already.
void check_fields_before_children(const void* fdt) {
  std::vector<bool> had_child;  // per open node
  int offset = 0;
  for (;;) {
    int next = 0;
    uint32_t tag = fdt_next_tag(fdt, offset, &next);
    if (tag == FDT_END || next < 0) return;
    if (tag == FDT_BEGIN_NODE) {
      if (!had_child.empty()) had_child.back() = true;
      had_child.push_back(false);
    } else if (tag == FDT_END_NODE) {
      if (had_child.empty()) refuse("unbalanced nodes");
      had_child.pop_back();
    } else if (tag == FDT_PROP && (had_child.empty() || had_child.back())) {
      refuse("a field after a child node, where it cannot be read");
    }
    offset = next;
  }
}

}  // namespace

std::vector<uint64_t> checked_copy(std::span<const uint8_t> blob) {
  if (blob.size() < sizeof(fdt_header))
    refuse(std::to_string(blob.size()) + " bytes, shorter than its header");
  if (blob.size() > kMaxStateSize)
    refuse(std::to_string(blob.size()) + " bytes, more than the maximum " +
           std::to_string(kMaxStateSize));
  std::vector<uint64_t> copy((blob.size() + 7) / 8);
  std::memcpy(copy.data(), blob.data(), blob.size());
  const void* fdt = copy.data();
  if (fdt_magic(fdt) != FDT_MAGIC) refuse("not a flattened device tree (bad magic)");
  if (fdt_totalsize(fdt) != blob.size())
    refuse("its header says " + std::to_string(fdt_totalsize(fdt)) + " bytes, the blob has " +
           std::to_string(blob.size()));
  if (int err = fdt_check_full(fdt, blob.size()); err != 0)
    refuse(std::string("malformed: ") + fdt_strerror(err));
  check_fields_before_children(fdt);
  int depth = 0;
  // Past the root's end fdt_next_node returns an offset with depth -1: stop there.
  for (int node = 0; node >= 0 && depth >= 0; node = fdt_next_node(fdt, node, &depth))
    check_unique_names(fdt, node);
  return copy;
}

}  // namespace kagami::fdt_blob
