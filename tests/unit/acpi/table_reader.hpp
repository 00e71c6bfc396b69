// Test helpers: reading ACPI tables back from the built region, and a minimal AML reader.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "acpi/tables.hpp"

namespace kagami::acpi::testing {

inline uint64_t le(std::span<const uint8_t> bytes, size_t offset, size_t size) {
  if (offset + size > bytes.size()) throw std::out_of_range("read past the end of a table");
  uint64_t value = 0;
  for (size_t i = size; i-- > 0;) value = value << 8 | bytes[offset + i];
  return value;
}

inline uint8_t sum(std::span<const uint8_t> bytes) {
  uint8_t total = 0;
  for (uint8_t byte : bytes) total += byte;
  return total;
}

inline std::string text(std::span<const uint8_t> bytes, size_t offset, size_t size) {
  return std::string(bytes.begin() + offset, bytes.begin() + offset + size);
}

// The bytes of the table at guest-physical `address`, `length` long, from the region.
inline std::span<const uint8_t> at(const AcpiTables& tables, uint64_t address, uint64_t length) {
  if (address < tables.base || address - tables.base + length > tables.bytes.size()) {
    throw std::out_of_range("address outside the acpi region");
  }
  return std::span<const uint8_t>(tables.bytes).subspan(address - tables.base, length);
}

// A table by signature, its length taken from its own header.
inline std::span<const uint8_t> table(const AcpiTables& tables, const std::string& signature) {
  for (const TableLocation& location : tables.tables) {
    if (location.signature != signature) continue;
    auto header = at(tables, location.address, 8);
    return at(tables, location.address, le(header, 4, 4));
  }
  throw std::out_of_range("no table " + signature);
}

// --- AML ------------------------------------------------------------------------------------

// Reads the PkgLength at aml[pos]; returns the package's total length (from pos) and advances
// pos past the PkgLength bytes.
inline size_t read_pkg_length(std::span<const uint8_t> aml, size_t& pos) {
  uint8_t lead = aml[pos++];
  size_t extra = lead >> 6;
  if (extra == 0) return lead & 0x3f;
  size_t length = lead & 0x0f;
  for (size_t i = 0; i < extra; ++i) length |= size_t{aml[pos++]} << (4 + 8 * i);
  return length;
}

// A data object as the DSDT uses them: an integer, a string, a buffer or a package.
struct AmlObject {
  enum Kind { kInteger, kString, kBuffer, kPackage } kind = kInteger;
  uint64_t integer = 0;
  std::string string;
  std::vector<uint8_t> buffer;
  std::vector<AmlObject> elements;
};

inline AmlObject make_object(AmlObject::Kind kind, uint64_t integer = 0) {
  AmlObject object;
  object.kind = kind;
  object.integer = integer;
  return object;
}

// Parses the data object at aml[pos] and advances pos past it; throws on anything else.
inline AmlObject read_object(std::span<const uint8_t> aml, size_t& pos) {
  uint8_t op = aml[pos++];
  switch (op) {
    case 0x00: return make_object(AmlObject::kInteger, 0);
    case 0x01: return make_object(AmlObject::kInteger, 1);
    case 0x0a: pos += 1; return make_object(AmlObject::kInteger, le(aml, pos - 1, 1));
    case 0x0b: pos += 2; return make_object(AmlObject::kInteger, le(aml, pos - 2, 2));
    case 0x0c: pos += 4; return make_object(AmlObject::kInteger, le(aml, pos - 4, 4));
    case 0x0e: pos += 8; return make_object(AmlObject::kInteger, le(aml, pos - 8, 8));
    case 0x0d: {
      AmlObject object = make_object(AmlObject::kString);
      while (aml[pos] != 0) object.string.push_back(static_cast<char>(aml[pos++]));
      ++pos;
      return object;
    }
    case 0x11: {
      size_t start = pos, length = read_pkg_length(aml, pos);
      AmlObject size = read_object(aml, pos);
      AmlObject object = make_object(AmlObject::kBuffer);
      object.buffer.assign(aml.begin() + pos, aml.begin() + start + length);
      if (object.buffer.size() != size.integer) throw std::runtime_error("buffer size mismatch");
      pos = start + length;
      return object;
    }
    case 0x12: {
      size_t start = pos, length = read_pkg_length(aml, pos);
      size_t count = aml[pos++];
      AmlObject object = make_object(AmlObject::kPackage);
      while (object.elements.size() < count) object.elements.push_back(read_object(aml, pos));
      if (pos != start + length) throw std::runtime_error("package length mismatch");
      return object;
    }
    default: throw std::runtime_error("unexpected aml opcode " + std::to_string(op));
  }
}

// The object named `segment` (4 characters, maybe after a root prefix) by the first NameOp for
// it found in aml.
inline std::optional<AmlObject> find_named_object(std::span<const uint8_t> aml,
                                                  const std::string& segment) {
  for (size_t i = 0; i + 6 < aml.size(); ++i) {
    if (aml[i] != 0x08) continue;
    size_t name = aml[i + 1] == 0x5c ? i + 2 : i + 1;  // "\_S5_" or "_S5_"
    if (text(aml, name, 4) != segment) continue;
    size_t pos = name + 4;
    return read_object(aml, pos);
  }
  return std::nullopt;
}

// Top-level terms of a term list: (opcode, name, body span) for Scope, Device and Name terms.
struct AmlTerm {
  std::string kind;  // "Scope", "Device", "Name"
  std::string name;  // the NameString as 4-character segments joined with '.', '\' kept
  std::span<const uint8_t> body;  // the term list inside a Scope or Device
};

inline std::string read_name_string(std::span<const uint8_t> aml, size_t& pos) {
  std::string name;
  while (aml[pos] == 0x5c || aml[pos] == 0x5e) name.push_back(static_cast<char>(aml[pos++]));
  size_t segments = 1;
  if (aml[pos] == 0x00) {  // NullName
    ++pos;
    return name;
  }
  if (aml[pos] == 0x2e) {
    segments = 2;
    pos += 1;
  } else if (aml[pos] == 0x2f) {
    segments = aml[pos + 1];
    pos += 2;
  }
  for (size_t i = 0; i < segments; ++i, pos += 4) {
    if (i > 0) name.push_back('.');
    name += text(aml, pos, 4);
  }
  return name;
}

// Walks a term list made only of Scope, Device and Name terms, checking that every PkgLength
// ends inside its parent and that the list ends exactly at the end of `aml`.
inline std::vector<AmlTerm> read_terms(std::span<const uint8_t> aml) {
  std::vector<AmlTerm> terms;
  size_t pos = 0;
  while (pos < aml.size()) {
    uint8_t op = aml[pos++];
    if (op == 0x08) {
      AmlTerm term{"Name", read_name_string(aml, pos), {}};
      size_t start = pos;
      read_object(aml, pos);
      term.body = aml.subspan(start, pos - start);
      terms.push_back(term);
      continue;
    }
    bool device = op == 0x5b && aml[pos] == 0x82;
    if (!device && op != 0x10) throw std::runtime_error("unexpected opcode " + std::to_string(op));
    if (device) ++pos;
    size_t start = pos, length = read_pkg_length(aml, pos);
    if (start + length > aml.size()) throw std::runtime_error("PkgLength past the parent's end");
    AmlTerm term{device ? "Device" : "Scope", read_name_string(aml, pos), {}};
    term.body = aml.subspan(pos, start + length - pos);
    terms.push_back(term);
    pos = start + length;
  }
  if (pos != aml.size()) throw std::runtime_error("term list overruns its parent");
  return terms;
}

inline const AmlTerm* find_term(const std::vector<AmlTerm>& terms, const std::string& name) {
  for (const AmlTerm& term : terms) {
    if (term.name == name) return &term;
  }
  return nullptr;
}

// Resource descriptors of a resource template buffer, each as its whole bytes, up to and
// including the end tag; checks that descriptors do not run past the buffer.
inline std::vector<std::vector<uint8_t>> read_resources(const std::vector<uint8_t>& buffer) {
  std::vector<std::vector<uint8_t>> descriptors;
  size_t pos = 0;
  while (pos < buffer.size()) {
    uint8_t tag = buffer[pos];
    size_t size = tag & 0x80 ? 3 + le(buffer, pos + 1, 2) : 1 + (tag & 0x07);
    if (pos + size > buffer.size()) throw std::runtime_error("descriptor past the buffer");
    descriptors.emplace_back(buffer.begin() + pos, buffer.begin() + pos + size);
    pos += size;
    if (tag == 0x79) break;
  }
  if (pos != buffer.size()) throw std::runtime_error("bytes after the end tag");
  return descriptors;
}

}  // namespace kagami::acpi::testing
