// Writing ACPI system description tables: the common header, little-endian fields, checksums.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace kagami::acpi {

inline constexpr size_t kSdtHeaderSize = 36;
inline constexpr uint8_t kAddressSpaceMemory = 0, kAddressSpaceIo = 1;

// A table being built: starts with a header whose length and checksum finish() fills in.
class SdtWriter {
 public:
  SdtWriter(std::string_view signature, uint8_t revision);

  void u8(uint8_t value) { bytes_.push_back(value); }
  void u16(uint16_t value) { le(value, 2); }
  void u32(uint32_t value) { le(value, 4); }
  void u64(uint64_t value) { le(value, 8); }
  void zeros(size_t count) { bytes_.insert(bytes_.end(), count, 0); }
  void append(const std::vector<uint8_t>& more) {
    bytes_.insert(bytes_.end(), more.begin(), more.end());
  }
  // A Generic Address Structure (12 bytes); access_size 0 is "undefined (legacy)".
  void gas(uint8_t space, uint8_t bit_width, uint8_t access_size, uint64_t address);

  size_t size() const { return bytes_.size(); }
  // Sets the length and the checksum and hands over the bytes.
  std::vector<uint8_t> finish();

 private:
  void le(uint64_t value, size_t size);
  std::vector<uint8_t> bytes_;
};

// The byte that makes the sum of bytes (with it in place of a zero) zero.
uint8_t checksum_byte(const uint8_t* bytes, size_t size);

// The OEM fields every kagami table carries.
inline constexpr std::string_view kOemId = "KAGAMI";         // 6 bytes
inline constexpr std::string_view kOemTableId = "KAGAMIVM";  // 8 bytes
inline constexpr uint32_t kOemRevision = 1;
inline constexpr std::string_view kCreatorId = "KGMI";
inline constexpr uint32_t kCreatorRevision = 1;

}  // namespace kagami::acpi
