// FdtStateWriter: the state tree collected in memory, then written with libfdt's
// sequential-write API.
//
// Collected first because StateWriter lets a node's fields come after its children (a device
// may write a child node, then more fields), while an FDT must hold a node's properties before
// its subnodes.
#include <endian.h>
#include <libfdt.h>

#include <set>
#include <string>
#include <vector>

#include "fdt_state.hpp"

namespace kagami {
namespace {

constexpr size_t kMaxNameLength = 31;
// Per node and per field in the FDT beyond names and values (tags, lengths, padding).
constexpr size_t kNodeOverhead = 8;
constexpr size_t kFieldOverhead = 16;

bool is_name_char(char c, std::string_view extra) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         extra.find(c) != std::string_view::npos;
}

bool valid_field_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name)
    if (!is_name_char(c, ",._+?#-")) return false;
  return true;
}

// node-name[@unit-address], each part from the FDT's node name characters.
bool valid_node_name(std::string_view name) {
  size_t at = name.find('@');
  std::string_view base = name.substr(0, at);
  if (base.empty() || base.size() > kMaxNameLength) return false;
  for (char c : base)
    if (!is_name_char(c, ",._+-")) return false;
  if (at == std::string_view::npos) return true;
  std::string_view unit = name.substr(at + 1);
  if (unit.empty()) return false;
  for (char c : unit)
    if (!is_name_char(c, ",._+-")) return false;
  return true;
}

struct Node {
  std::string name;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> fields;
  std::vector<std::unique_ptr<Node>> children;
  std::set<std::string, std::less<>> names;  // of fields and children: each once
};

}  // namespace

struct FdtStateWriter::Impl {
  Node root;
  std::vector<Node*> open{&root};
  std::string path;
  size_t size = sizeof(fdt_header) + 16;  // the FDT so far, roughly (bounds the tree)
  bool finished = false;

  void claim(std::string_view name, bool node, size_t bytes) {
    if (finished) throw StateError("state tree: written to after finish()");
    if (!(node ? valid_node_name(name) : valid_field_name(name)))
      throw StateError(path + "/" + std::string(name) + ": not a valid " +
                       (node ? "node" : "field") + " name");
    if (!open.back()->names.emplace(name).second)
      throw StateError(path + "/" + std::string(name) + ": written twice");
    size += bytes;
    if (size > kMaxStateSize)
      throw StateError("state tree larger than " + std::to_string(kMaxStateSize) + " bytes");
  }

  void field(std::string_view name, const void* data, size_t len) {
    claim(name, false, name.size() + len + kFieldOverhead);
    auto* bytes = static_cast<const uint8_t*>(data);
    open.back()->fields.emplace_back(std::string(name), std::vector<uint8_t>(bytes, bytes + len));
  }
};

namespace {

// Runs one libfdt call on `buffer`, growing it while it runs out of space.
template <typename Call>
void fdt_call(std::vector<uint64_t>& buffer, const char* what, Call&& op) {
  for (;;) {
    int err = op(buffer.data());
    if (err == 0) return;
    if (err != -FDT_ERR_NOSPACE)
      throw StateError(std::string("state tree: ") + what + ": " + fdt_strerror(err));
    size_t bytes = buffer.size() * 8 * 2;
    if (bytes > kMaxStateSize * 2) throw StateError("state tree: too large to write");
    std::vector<uint64_t> bigger(bytes / 8);
    if (int e = fdt_resize(buffer.data(), bigger.data(), static_cast<int>(bytes)); e != 0)
      throw StateError(std::string("state tree: fdt_resize: ") + fdt_strerror(e));
    buffer.swap(bigger);
  }
}

void emit(std::vector<uint64_t>& buffer, const Node& node) {
  fdt_call(buffer, "fdt_begin_node", [&](void* f) { return fdt_begin_node(f, node.name.c_str()); });
  for (const auto& [name, value] : node.fields)
    fdt_call(buffer, "fdt_property", [&](void* f) {
      return fdt_property(f, name.c_str(), value.data(), static_cast<int>(value.size()));
    });
  for (const auto& child : node.children) emit(buffer, *child);
  fdt_call(buffer, "fdt_end_node", [](void* f) { return fdt_end_node(f); });
}

}  // namespace

FdtStateWriter::FdtStateWriter(std::string_view kind) : impl_(std::make_unique<Impl>()) {
  u32("format-version", kStateFormatVersion);
  string("kind", kind);
}

FdtStateWriter::~FdtStateWriter() = default;

void FdtStateWriter::u32(std::string_view name, uint32_t value) {
  uint32_t be = htobe32(value);
  impl_->field(name, &be, sizeof(be));
}

void FdtStateWriter::u64(std::string_view name, uint64_t value) {
  uint64_t be = htobe64(value);
  impl_->field(name, &be, sizeof(be));
}

void FdtStateWriter::bytes(std::string_view name, std::span<const uint8_t> value) {
  impl_->field(name, value.data(), value.size());
}

void FdtStateWriter::string(std::string_view name, std::string_view value) {
  if (value.find('\0') != std::string_view::npos)
    throw StateError(impl_->path + "/" + std::string(name) + ": a string with a NUL byte");
  std::string text(value);
  impl_->field(name, text.c_str(), text.size() + 1);
}

void FdtStateWriter::begin_node(std::string_view name) {
  impl_->claim(name, true, name.size() + kNodeOverhead);
  auto child = std::make_unique<Node>();
  child->name = name;
  Node* raw = child.get();
  impl_->open.back()->children.push_back(std::move(child));
  impl_->open.push_back(raw);
  impl_->path += "/" + std::string(name);
}

void FdtStateWriter::end_node() {
  if (impl_->open.size() <= 1 || impl_->finished)
    throw StateError("state tree: end_node() without begin_node()");
  impl_->open.pop_back();
  impl_->path.erase(impl_->path.rfind('/'));
}

std::vector<uint8_t> FdtStateWriter::finish() {
  if (impl_->finished) throw StateError("state tree: finish() called twice");
  if (impl_->open.size() != 1)
    throw StateError("state tree: node " + impl_->path + " was not ended");
  impl_->finished = true;
  // The estimate is above the real size; the buffer grows should it not be.
  std::vector<uint64_t> buffer((impl_->size + 4096) / 8);
  const int size = static_cast<int>(buffer.size() * 8);
  fdt_call(buffer, "fdt_create", [size](void* f) { return fdt_create(f, size); });
  fdt_call(buffer, "fdt_finish_reservemap", [](void* f) { return fdt_finish_reservemap(f); });
  emit(buffer, impl_->root);
  fdt_call(buffer, "fdt_finish", [](void* f) { return fdt_finish(f); });
  const auto* bytes = reinterpret_cast<const uint8_t*>(buffer.data());
  return {bytes, bytes + fdt_totalsize(buffer.data())};
}

}  // namespace kagami
