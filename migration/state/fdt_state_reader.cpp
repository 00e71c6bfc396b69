// FdtStateReader: a checked state blob read field by field, each access checked again.
#include <endian.h>
#include <libfdt.h>

#include <cstring>

#include "fdt_blob.hpp"
#include "fdt_state.hpp"

namespace kagami {

struct FdtStateReader::Tree {
  std::vector<uint64_t> storage;  // the checked, aligned copy
  const void* fdt() const { return storage.data(); }
};

namespace {

std::string quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

}  // namespace

FdtStateReader::FdtStateReader(std::span<const uint8_t> blob, std::string_view kind) : offset_(0) {
  auto tree = std::make_shared<Tree>();
  tree->storage = fdt_blob::checked_copy(blob);
  tree_ = std::move(tree);
  if (!has("format-version")) throw StateError("state blob: no format-version: not kagami state");
  uint32_t version = u32("format-version");
  if (version != kStateFormatVersion)
    throw StateError("state blob: format version " + std::to_string(version) +
                     ", this kagami reads version " + std::to_string(kStateFormatVersion));
  std::string found = string("kind", 64);
  if (found != kind)
    throw StateError("state blob: a " + quoted(found) + " tree where a " + quoted(kind) +
                     " was expected");
}

FdtStateReader::FdtStateReader(std::shared_ptr<const Tree> tree, int offset, std::string path)
    : tree_(std::move(tree)), offset_(offset), path_(std::move(path)) {}

FdtStateReader::~FdtStateReader() = default;

std::span<const uint8_t> FdtStateReader::field(std::string_view name) const {
  int len = 0;
  const void* value =
      fdt_getprop_namelen(tree_->fdt(), offset_, name.data(), static_cast<int>(name.size()), &len);
  if (!value || len < 0) throw StateError(path_ + "/" + std::string(name) + ": missing");
  return {static_cast<const uint8_t*>(value), static_cast<size_t>(len)};
}

bool FdtStateReader::has(std::string_view name) const {
  int len = 0;
  return fdt_getprop_namelen(tree_->fdt(), offset_, name.data(), static_cast<int>(name.size()),
                             &len) != nullptr;
}

namespace {

[[noreturn]] void wrong_size(const std::string& where, size_t got, size_t expected) {
  throw StateError(where + ": " + std::to_string(got) + " bytes, expected " +
                   std::to_string(expected));
}

}  // namespace

uint32_t FdtStateReader::u32(std::string_view name) const {
  std::span<const uint8_t> value = field(name);
  uint32_t be;
  if (value.size() != sizeof(be)) wrong_size(path_ + "/" + std::string(name), value.size(), 4);
  std::memcpy(&be, value.data(), sizeof(be));
  return be32toh(be);
}

uint64_t FdtStateReader::u64(std::string_view name) const {
  std::span<const uint8_t> value = field(name);
  uint64_t be;
  if (value.size() != sizeof(be)) wrong_size(path_ + "/" + std::string(name), value.size(), 8);
  std::memcpy(&be, value.data(), sizeof(be));
  return be64toh(be);
}

void FdtStateReader::bytes(std::string_view name, std::span<uint8_t> out) const {
  std::span<const uint8_t> value = field(name);
  if (value.size() != out.size())
    wrong_size(path_ + "/" + std::string(name), value.size(), out.size());
  if (!out.empty()) std::memcpy(out.data(), value.data(), out.size());
}

std::vector<uint8_t> FdtStateReader::bytes(std::string_view name, size_t max_size) const {
  std::span<const uint8_t> value = field(name);
  if (value.size() > max_size)
    throw StateError(path_ + "/" + std::string(name) + ": " + std::to_string(value.size()) +
                     " bytes, more than the maximum " + std::to_string(max_size));
  return {value.begin(), value.end()};
}

std::string FdtStateReader::string(std::string_view name, size_t max_size) const {
  std::span<const uint8_t> value = field(name);
  const std::string where = path_ + "/" + std::string(name);
  if (value.empty() || value.back() != 0) throw StateError(where + ": not a NUL-terminated string");
  std::string text(reinterpret_cast<const char*>(value.data()), value.size() - 1);
  if (text.find('\0') != std::string::npos) throw StateError(where + ": a string with a NUL byte");
  if (text.size() > max_size)
    throw StateError(where + ": a string of " + std::to_string(text.size()) +
                     " characters, more than the maximum " + std::to_string(max_size));
  return text;
}

// Exact names: libfdt's own lookup would take "pit" for "pit@40".
int FdtStateReader::child_offset(std::string_view name) const {
  int child;
  fdt_for_each_subnode(child, tree_->fdt(), offset_) {
    int len = 0;
    const char* found = fdt_get_name(tree_->fdt(), child, &len);
    if (found && len >= 0 && std::string_view(found, static_cast<size_t>(len)) == name)
      return child;
  }
  return -1;
}

bool FdtStateReader::has_node(std::string_view name) const {
  return child_offset(name) >= 0;
}

std::unique_ptr<StateReader> FdtStateReader::node(std::string_view name) const {
  int child = child_offset(name);
  if (child < 0) throw StateError(path_ + "/" + std::string(name) + ": node missing");
  return std::unique_ptr<StateReader>(
      new FdtStateReader(tree_, child, path_ + "/" + std::string(name)));
}

// The root's path is empty, so that path() + "/" + field names root fields "/field".
std::string FdtStateReader::path() const {
  return path_;
}

}  // namespace kagami
