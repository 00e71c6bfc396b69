// A small ACPI Machine Language (AML) builder: the subset of terms and resources our DSDT uses.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

// Every function returns the encoded bytes of one AML term (or one resource descriptor), so
// terms nest by passing the bytes of their children, as ASL nests:
//
//   scope("\\_SB_", {device("COM1", {name("_HID", eisa_id("PNP0501"))})})
//
// Encodings follow ACPI 6.3 chapter 20 (AML) and section 6.4 (resource data types); they match
// what iasl emits for the same ASL, except that resource_template() stores a real checksum in
// its end tag where iasl stores 0 (both are valid). Malformed arguments (a bad name segment, an
// empty range, a PkgLength beyond 2^28) throw std::invalid_argument naming the argument.
namespace kagami::aml {

using Bytes = std::vector<uint8_t>;

// --- Data and names -------------------------------------------------------------------------

// The PkgLength field for a package whose contents after the PkgLength are body_size bytes:
// 1 to 4 bytes, the count including the PkgLength itself, the shortest encoding that fits.
Bytes pkg_length(size_t body_size);

// A NameString: "\\" (root) or "^" prefixes, then segments separated by '.'. Segments shorter
// than 4 characters are padded with '_' (so "RTC" is "RTC_"). The empty string is NullName.
Bytes name_string(std::string_view path);

// An integer in its shortest form: ZeroOp, OneOp, or Byte/Word/DWord/QWord prefix.
Bytes integer(uint64_t value);

// A null-terminated ASCII string (no NUL inside).
Bytes string(std::string_view text);

// A Buffer of the given bytes.
Bytes buffer(std::span<const uint8_t> data);

// A Package of up to 255 elements (each an encoded data object).
Bytes package(const std::vector<Bytes>& elements);

// The 32-bit compressed EISA ID of a 7-character PnP ID ("PNP0A08": three letters A-Z, four
// hex digits), as the integer iasl's EisaId() makes, and as an AML integer term.
uint32_t eisa_id_value(std::string_view id);
Bytes eisa_id(std::string_view id);

// --- Named objects and control --------------------------------------------------------------

Bytes name(std::string_view path, const Bytes& object);
Bytes scope(std::string_view path, const std::vector<Bytes>& terms);
Bytes device(std::string_view path, const std::vector<Bytes>& terms);
// arg_count 0..7; serialized methods get sync level 0.
Bytes method(std::string_view path, unsigned arg_count, bool serialized,
             const std::vector<Bytes>& terms);
Bytes return_value(const Bytes& value);

// --- Resource descriptors (ACPI 6.3 section 6.4) --------------------------------------------

enum class Cache : uint8_t {
  kNonCacheable = 0,
  kCacheable = 1,
  kWriteCombining = 2,
  kPrefetchable = 3
};

// A Buffer holding the descriptors followed by an end tag whose checksum makes the descriptor
// bytes sum to zero.
Bytes resource_template(const std::vector<Bytes>& descriptors);

// Address space descriptors of a bridge window: ResourceProducer, MinFixed, MaxFixed,
// PosDecode, granularity 0, no translation, length max - min + 1 (I/O: EntireRange; memory:
// ReadWrite, AddressRangeMemory).
Bytes word_bus_number(uint16_t min, uint16_t max);
Bytes word_io(uint16_t min, uint16_t max);
Bytes dword_io(uint32_t min, uint32_t max);
Bytes dword_memory(uint32_t min, uint32_t max, Cache cache);
Bytes qword_memory(uint64_t min, uint64_t max, Cache cache);

// IO (Decode16, min, max, alignment, length).
Bytes io(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length);
// Memory32Fixed (ReadWrite or ReadOnly, base, length).
Bytes memory32_fixed(uint32_t base, uint32_t length, bool writable);
// IRQNoFlags () {irqs...}: ISA IRQs 0..15, edge-triggered, active-high.
Bytes irq_no_flags(std::span<const uint8_t> irqs);

// Interrupt (ResourceConsumer, ...) {gsis...}: an extended interrupt descriptor.
struct InterruptFlags {
  bool level = true;  // level-triggered (else edge)
  bool active_low = true;
  bool shared = true;
};
Bytes interrupt(InterruptFlags flags, std::span<const uint32_t> gsis);

}  // namespace kagami::aml
