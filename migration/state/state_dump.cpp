// dump_state_text: a state blob as text in dtc's syntax, for `kagami state dump`.
#include <endian.h>
#include <libfdt.h>

#include <cstdio>
#include <cstring>

#include "fdt_blob.hpp"
#include "fdt_state.hpp"

namespace kagami {
namespace {

constexpr size_t kMaxCells = 8;     // longer multiples of 4 print as bytes
constexpr size_t kShownBytes = 32;  // of a long byte string, the first ones
constexpr size_t kMaxShownString = 256;

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

// A name or string from the blob, printable whatever it holds.
std::string escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c >= 0x20 && c < 0x7f) {
      out += c;
    } else {
      char code[8];
      std::snprintf(code, sizeof(code), "\\x%02x", static_cast<unsigned char>(c));
      out += code;
    }
  }
  return out;
}

bool is_text(std::span<const uint8_t> value) {
  if (value.size() < 2 || value.back() != 0) return false;
  for (size_t i = 0; i + 1 < value.size(); i++)
    if (value[i] < 0x20 || value[i] >= 0x7f) return false;
  return true;
}

std::string cells(std::span<const uint8_t> value) {
  std::string out = "<";
  for (size_t i = 0; i < value.size(); i += 4) {
    uint32_t be;
    std::memcpy(&be, value.data() + i, 4);
    out += (i ? " " : "") + hex(be32toh(be));
  }
  return out + ">";
}

std::string byte_string(std::span<const uint8_t> value) {
  std::string out = "[";
  size_t shown = value.size() > kShownBytes * 2 ? kShownBytes : value.size();
  for (size_t i = 0; i < shown; i++) {
    char byte[4];
    std::snprintf(byte, sizeof(byte), "%02x", value[i]);
    out += (i ? " " : "") + std::string(byte);
  }
  if (shown < value.size()) return out + " ...] /* " + std::to_string(value.size()) + " bytes */";
  return out + "]";
}

std::string value_text(std::span<const uint8_t> value) {
  if (value.empty()) return "";
  if (is_text(value)) {
    std::string_view text(reinterpret_cast<const char*>(value.data()), value.size() - 1);
    if (text.size() > kMaxShownString)
      return " = \"" + escaped(text.substr(0, kMaxShownString)) + "...\" /* " +
             std::to_string(text.size()) + " characters */";
    return " = \"" + escaped(text) + "\"";
  }
  if (value.size() == 8) {
    uint64_t be;
    std::memcpy(&be, value.data(), 8);
    return " = /bits/ 64 <" + hex(be64toh(be)) + ">";
  }
  if (value.size() % 4 == 0 && value.size() <= kMaxCells * 4) return " = " + cells(value);
  return " = " + byte_string(value);
}

void dump_node(const void* fdt, int node, int depth, std::string& out) {
  const std::string indent(static_cast<size_t>(depth) * 4, ' ');
  int len = 0;
  const char* name = fdt_get_name(fdt, node, &len);
  std::string_view node_name = depth == 0 ? "/" : std::string_view(name, static_cast<size_t>(len));
  out += indent + escaped(node_name) + " {\n";
  int prop;
  fdt_for_each_property_offset(prop, fdt, node) {
    const char* field = nullptr;
    int size = 0;
    const void* value = fdt_getprop_by_offset(fdt, prop, &field, &size);
    if (!value || !field || size < 0) throw StateError("state blob: an unreadable field");
    out += indent + "    " + escaped(field) +
           value_text({static_cast<const uint8_t*>(value), static_cast<size_t>(size)}) + ";\n";
  }
}

}  // namespace

std::string dump_state_text(std::span<const uint8_t> blob) {
  std::vector<uint64_t> copy = fdt_blob::checked_copy(blob);
  const void* fdt = copy.data();
  std::string out = "/dts-v1/;\n\n";
  // Iterative, so that a deeply nested blob cannot exhaust the stack.
  int depth = 0;
  int open = 0;  // nodes printed and not yet closed
  for (int node = 0; node >= 0 && depth >= 0; node = fdt_next_node(fdt, node, &depth)) {
    for (; open > depth; open--)
      out += std::string(static_cast<size_t>(open - 1) * 4, ' ') + "};\n";
    dump_node(fdt, node, depth, out);
    open = depth + 1;
  }
  for (; open > 0; open--) out += std::string(static_cast<size_t>(open - 1) * 4, ' ') + "};\n";
  return out;
}

}  // namespace kagami
