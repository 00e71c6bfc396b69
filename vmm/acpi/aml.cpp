// AML builder: name strings, PkgLength, data objects, named objects and resource descriptors.
#include "aml.hpp"

#include <stdexcept>
#include <string>

#include "kagami/le_bytes.hpp"

namespace kagami::aml {
namespace {

// Opcodes (ACPI 6.3 section 20.3).
constexpr uint8_t kZeroOp = 0x00, kOneOp = 0x01, kNameOp = 0x08, kBytePrefix = 0x0a,
                  kWordPrefix = 0x0b, kDWordPrefix = 0x0c, kStringPrefix = 0x0d,
                  kQWordPrefix = 0x0e, kScopeOp = 0x10, kBufferOp = 0x11, kPackageOp = 0x12,
                  kMethodOp = 0x14, kDualNamePrefix = 0x2e, kMultiNamePrefix = 0x2f,
                  kExtOpPrefix = 0x5b, kDeviceOp = 0x82, kRootChar = 0x5c, kParentPrefixChar = 0x5e,
                  kReturnOp = 0xa4;

// Resource descriptor tags (ACPI 6.3 section 6.4).
constexpr uint8_t kIrqTag = 0x22, kIoTag = 0x47, kEndTag = 0x79, kMemory32FixedTag = 0x86,
                  kDWordAddressTag = 0x87, kWordAddressTag = 0x88, kExtendedIrqTag = 0x89,
                  kQWordAddressTag = 0x8a;
constexpr uint8_t kMemoryRange = 0, kIoRange = 1, kBusNumberRange = 2;
// General flags of a bridge window: producer, positive decode, min and max fixed.
constexpr uint8_t kWindowFlags = 0x0c;
constexpr uint8_t kIoEntireRange = 0x03, kMemoryReadWrite = 0x01;

constexpr size_t kMaxPkgLength = size_t{1} << 28;

void append(Bytes& out, const Bytes& more) {
  out.insert(out.end(), more.begin(), more.end());
}

Bytes concat(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const Bytes& part : parts) append(out, part);
  return out;
}

// opcode(s) PkgLength body: the shape of every variable-length term.
Bytes with_pkg_length(std::initializer_list<uint8_t> opcode, const Bytes& body) {
  Bytes out(opcode);
  append(out, pkg_length(body.size()));
  append(out, body);
  return out;
}

bool is_lead_char(char c) {
  return (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_lead_char(c) || (c >= '0' && c <= '9');
}

void append_name_segment(Bytes& out, std::string_view segment, std::string_view path) {
  bool valid = !segment.empty() && segment.size() <= 4 && is_lead_char(segment[0]);
  for (char c : segment) valid = valid && is_name_char(c);
  if (!valid) {
    throw std::invalid_argument("aml: bad name segment '" + std::string(segment) + "' in '" +
                                std::string(path) + "'");
  }
  out.insert(out.end(), segment.begin(), segment.end());
  out.insert(out.end(), 4 - segment.size(), '_');
}

void check_range(uint64_t min, uint64_t max, uint64_t width_max, const char* what) {
  if (min > max || max - min >= width_max) {
    throw std::invalid_argument(std::string("aml: ") + what + " range " + std::to_string(min) +
                                ".." + std::to_string(max) + " is empty or too long");
  }
}

// A Word/DWord/QWord address space descriptor of a bridge window.
Bytes address_space(uint8_t tag, size_t width, uint8_t resource_type, uint8_t type_flags,
                    uint64_t min, uint64_t max) {
  uint64_t width_max = width == 8 ? UINT64_MAX : (uint64_t{1} << (8 * width)) - 1;
  check_range(min, max, width_max, "address space");
  Bytes out{tag};
  append_le(out, 3 + 5 * width, 2);  // the bytes after the length field
  out.push_back(resource_type);
  out.push_back(kWindowFlags);
  out.push_back(type_flags);
  append_le(out, 0, width);  // granularity
  append_le(out, min, width);
  append_le(out, max, width);
  append_le(out, 0, width);  // translation offset
  append_le(out, max - min + 1, width);
  return out;
}

}  // namespace

Bytes pkg_length(size_t body_size) {
  if (body_size + 1 <= 0x3f) return {static_cast<uint8_t>(body_size + 1)};
  for (size_t extra = 1; extra <= 3; ++extra) {
    size_t total = body_size + 1 + extra;
    if (total >= size_t{1} << (4 + 8 * extra)) continue;
    Bytes out{static_cast<uint8_t>(extra << 6 | (total & 0x0f))};
    append_le(out, total >> 4, extra);
    return out;
  }
  throw std::invalid_argument("aml: package of " + std::to_string(body_size) +
                              " bytes exceeds the PkgLength limit of " +
                              std::to_string(kMaxPkgLength));
}

Bytes name_string(std::string_view path) {
  Bytes out;
  std::string_view rest = path;
  if (!rest.empty() && rest[0] == '\\') {
    out.push_back(kRootChar);
    rest.remove_prefix(1);
  } else {
    while (!rest.empty() && rest[0] == '^') {
      out.push_back(kParentPrefixChar);
      rest.remove_prefix(1);
    }
  }
  std::vector<std::string_view> segments;
  while (!rest.empty()) {
    size_t dot = rest.find('.');
    segments.push_back(rest.substr(0, dot));
    rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
    if (dot != std::string_view::npos && rest.empty()) segments.push_back({});  // trailing dot
  }
  if (segments.empty()) {
    out.push_back(kZeroOp);  // NullName
  } else if (segments.size() == 2) {
    out.push_back(kDualNamePrefix);
  } else if (segments.size() > 2) {
    if (segments.size() > 255) throw std::invalid_argument("aml: too many segments in path");
    out.push_back(kMultiNamePrefix);
    out.push_back(static_cast<uint8_t>(segments.size()));
  }
  for (std::string_view segment : segments) append_name_segment(out, segment, path);
  return out;
}

Bytes integer(uint64_t value) {
  if (value == 0) return {kZeroOp};
  if (value == 1) return {kOneOp};
  Bytes out;
  size_t size = value <= 0xff ? 1 : value <= 0xffff ? 2 : value <= 0xffffffff ? 4 : 8;
  out.push_back(size == 1   ? kBytePrefix
                : size == 2 ? kWordPrefix
                : size == 4 ? kDWordPrefix
                            : kQWordPrefix);
  append_le(out, value, size);
  return out;
}

Bytes string(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    throw std::invalid_argument("aml: string contains a nul character");
  }
  Bytes out{kStringPrefix};
  out.insert(out.end(), text.begin(), text.end());
  out.push_back(0);
  return out;
}

Bytes buffer(std::span<const uint8_t> data) {
  Bytes body = integer(data.size());
  body.insert(body.end(), data.begin(), data.end());
  return with_pkg_length({kBufferOp}, body);
}

Bytes package(const std::vector<Bytes>& elements) {
  if (elements.size() > 255) {
    throw std::invalid_argument("aml: package of " + std::to_string(elements.size()) +
                                " elements exceeds 255");
  }
  Bytes body{static_cast<uint8_t>(elements.size())};
  append(body, concat(elements));
  return with_pkg_length({kPackageOp}, body);
}

uint32_t eisa_id_value(std::string_view id) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  bool valid = id.size() == 7;
  for (size_t i = 0; valid && i < 3; ++i) valid = id[i] >= 'A' && id[i] <= 'Z';
  for (size_t i = 3; valid && i < 7; ++i) valid = hex(id[i]) >= 0;
  if (!valid) throw std::invalid_argument("aml: bad eisa id '" + std::string(id) + "'");
  // Three 5-bit letters ('A' = 1) big-endian in the first two bytes, then the product number.
  uint32_t vendor = (id[0] - 0x40) << 10 | (id[1] - 0x40) << 5 | (id[2] - 0x40);
  uint32_t product = hex(id[3]) << 12 | hex(id[4]) << 8 | hex(id[5]) << 4 | hex(id[6]);
  uint32_t big_endian = vendor << 16 | product;
  return __builtin_bswap32(big_endian);
}

Bytes eisa_id(std::string_view id) {
  Bytes out{kDWordPrefix};  // iasl always uses the DWord form for EisaId
  append_le(out, eisa_id_value(id), 4);
  return out;
}

Bytes name(std::string_view path, const Bytes& object) {
  Bytes out{kNameOp};
  append(out, name_string(path));
  append(out, object);
  return out;
}

Bytes scope(std::string_view path, const std::vector<Bytes>& terms) {
  Bytes body = name_string(path);
  append(body, concat(terms));
  return with_pkg_length({kScopeOp}, body);
}

Bytes device(std::string_view path, const std::vector<Bytes>& terms) {
  Bytes body = name_string(path);
  append(body, concat(terms));
  return with_pkg_length({kExtOpPrefix, kDeviceOp}, body);
}

Bytes method(std::string_view path, unsigned arg_count, bool serialized,
             const std::vector<Bytes>& terms) {
  if (arg_count > 7) {
    throw std::invalid_argument("aml: method " + std::string(path) + " has more than 7 args");
  }
  Bytes body = name_string(path);
  body.push_back(static_cast<uint8_t>(arg_count | (serialized ? 0x08 : 0)));
  append(body, concat(terms));
  return with_pkg_length({kMethodOp}, body);
}

Bytes return_value(const Bytes& value) {
  Bytes out{kReturnOp};
  append(out, value);
  return out;
}

Bytes resource_template(const std::vector<Bytes>& descriptors) {
  Bytes data = concat(descriptors);
  data.push_back(kEndTag);
  uint8_t sum = 0;
  for (uint8_t byte : data) sum += byte;
  data.push_back(static_cast<uint8_t>(-sum));
  return buffer(data);
}

Bytes word_bus_number(uint16_t min, uint16_t max) {
  return address_space(kWordAddressTag, 2, kBusNumberRange, 0, min, max);
}

Bytes word_io(uint16_t min, uint16_t max) {
  return address_space(kWordAddressTag, 2, kIoRange, kIoEntireRange, min, max);
}

Bytes dword_io(uint32_t min, uint32_t max) {
  return address_space(kDWordAddressTag, 4, kIoRange, kIoEntireRange, min, max);
}

Bytes dword_memory(uint32_t min, uint32_t max, Cache cache) {
  uint8_t flags = kMemoryReadWrite | static_cast<uint8_t>(cache) << 1;
  return address_space(kDWordAddressTag, 4, kMemoryRange, flags, min, max);
}

Bytes qword_memory(uint64_t min, uint64_t max, Cache cache) {
  uint8_t flags = kMemoryReadWrite | static_cast<uint8_t>(cache) << 1;
  return address_space(kQWordAddressTag, 8, kMemoryRange, flags, min, max);
}

Bytes io(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length) {
  check_range(min, max, UINT64_MAX, "io");
  Bytes out{kIoTag, 0x01};  // Decode16
  append_le(out, min, 2);
  append_le(out, max, 2);
  out.push_back(alignment);
  out.push_back(length);
  return out;
}

Bytes memory32_fixed(uint32_t base, uint32_t length, bool writable) {
  if (uint64_t{base} + length > uint64_t{1} << 32) {
    throw std::invalid_argument("aml: memory32 range at " + std::to_string(base) +
                                " runs past 4 GiB");
  }
  Bytes out{kMemory32FixedTag, 0x09, 0x00, static_cast<uint8_t>(writable ? 1 : 0)};
  append_le(out, base, 4);
  append_le(out, length, 4);
  return out;
}

Bytes irq_no_flags(std::span<const uint8_t> irqs) {
  uint16_t mask = 0;
  for (uint8_t irq : irqs) {
    if (irq > 15) throw std::invalid_argument("aml: isa irq " + std::to_string(irq) + " > 15");
    mask |= 1u << irq;
  }
  Bytes out{kIrqTag};
  append_le(out, mask, 2);
  return out;
}

Bytes interrupt(InterruptFlags flags, std::span<const uint32_t> gsis) {
  if (gsis.empty() || gsis.size() > 255) {
    throw std::invalid_argument("aml: interrupt descriptor needs 1..255 interrupts");
  }
  Bytes out{kExtendedIrqTag};
  append_le(out, 2 + 4 * gsis.size(), 2);
  out.push_back(static_cast<uint8_t>(0x01 /* consumer */ | (flags.level ? 0 : 0x02) |
                                     (flags.active_low ? 0x04 : 0) | (flags.shared ? 0x08 : 0)));
  out.push_back(static_cast<uint8_t>(gsis.size()));
  for (uint32_t gsi : gsis) append_le(out, gsi, 4);
  return out;
}

}  // namespace kagami::aml
