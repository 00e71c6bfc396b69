// The state tree (include/kagami/state.hpp) as a flattened device tree: writer, reader, dump.
//
// Format: an FDT blob whose root node carries `format-version` (u32) and `kind` (a string saying
// what the tree is: a machine's state or its description). Every field is one property: u32 as
// one big-endian cell, u64 as two (high first), byte strings raw, strings NUL-terminated. Nodes
// are the tree's nodes. A blob is at most kMaxStateSize bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kagami/state.hpp"

namespace kagami {

inline constexpr uint32_t kStateFormatVersion = 1;
inline constexpr size_t kMaxStateSize = 64u << 20;
// The kinds of tree: a machine's saved state, and the description both ends of a migration
// compare.
inline constexpr std::string_view kStateKind = "kagami-state";
inline constexpr std::string_view kMachineKind = "kagami-machine";

// Builds a blob with libfdt's sequential-write API. Names are checked against the FDT rules
// (node: [A-Za-z0-9,._+-]+ with an optional @unit; field: [A-Za-z0-9,._+?#-]+, 1..31
// characters) and must be unique within their node; a bad name, an unbalanced end_node() or a
// tree over kMaxStateSize throws StateError.
class FdtStateWriter final : public StateWriter {
 public:
  explicit FdtStateWriter(std::string_view kind);
  ~FdtStateWriter() override;

  void u32(std::string_view name, uint32_t value) override;
  void u64(std::string_view name, uint64_t value) override;
  void bytes(std::string_view name, std::span<const uint8_t> value) override;
  void string(std::string_view name, std::string_view value) override;
  void begin_node(std::string_view name) override;
  void end_node() override;

  // Closes the root node and returns the blob. Every begun node must have ended.
  std::vector<uint8_t> finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads a blob. The constructor copies it (libfdt wants it 8-byte aligned) and checks it
// whole: size (header to kMaxStateSize, exactly the header's total size), magic,
// fdt_check_full, unique names in every node, the format version and the kind. Each problem
// throws StateError saying what is wrong.
class FdtStateReader final : public StateReader {
 public:
  FdtStateReader(std::span<const uint8_t> blob, std::string_view kind);
  ~FdtStateReader() override;

  bool has(std::string_view name) const override;
  uint32_t u32(std::string_view name) const override;
  uint64_t u64(std::string_view name) const override;
  void bytes(std::string_view name, std::span<uint8_t> out) const override;
  std::vector<uint8_t> bytes(std::string_view name, size_t max_size) const override;
  std::string string(std::string_view name, size_t max_size) const override;
  bool has_node(std::string_view name) const override;
  std::unique_ptr<StateReader> node(std::string_view name) const override;
  std::string path() const override;

  struct Tree;

 private:
  FdtStateReader(std::shared_ptr<const Tree> tree, int offset, std::string path);
  std::span<const uint8_t> field(std::string_view name) const;
  int child_offset(std::string_view name) const;

  std::shared_ptr<const Tree> tree_;
  int offset_;
  std::string path_;
};

// A readable text form of any blob that passes the structural checks (any kind or version), in
// dtc's syntax: nodes, fields as cells, u64, strings or hex bytes (long ones abbreviated).
// Throws StateError for a blob that is not a valid FDT.
std::string dump_state_text(std::span<const uint8_t> blob);

}  // namespace kagami
