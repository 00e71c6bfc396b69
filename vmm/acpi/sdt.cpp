// The ACPI table header (ACPI 6.3 section 5.2.6), little-endian fields and checksums.
#include "sdt.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#include "kagami/le_bytes.hpp"

namespace kagami::acpi {
namespace {

constexpr size_t kLengthOffset = 4, kChecksumOffset = 9;

void put_padded(std::vector<uint8_t>& out, std::string_view text, size_t size) {
  for (size_t i = 0; i < size; ++i) out.push_back(i < text.size() ? text[i] : ' ');
}

}  // namespace

SdtWriter::SdtWriter(std::string_view signature, uint8_t revision) {
  if (signature.size() != 4) {
    throw std::invalid_argument("acpi: table signature '" + std::string(signature) +
                                "' is not 4 characters");
  }
  put_padded(bytes_, signature, 4);
  u32(0);  // length, set by finish()
  u8(revision);
  u8(0);  // checksum, set by finish()
  put_padded(bytes_, kOemId, 6);
  put_padded(bytes_, kOemTableId, 8);
  u32(kOemRevision);
  put_padded(bytes_, kCreatorId, 4);
  u32(kCreatorRevision);
}

void SdtWriter::gas(uint8_t space, uint8_t bit_width, uint8_t access_size, uint64_t address) {
  u8(space);
  u8(bit_width);
  u8(0);  // bit offset
  u8(access_size);
  u64(address);
}

std::vector<uint8_t> SdtWriter::finish() {
  uint32_t length = static_cast<uint32_t>(bytes_.size());
  store_le(std::span(bytes_).subspan(kLengthOffset, 4), length);
  bytes_[kChecksumOffset] = 0;
  bytes_[kChecksumOffset] = checksum_byte(bytes_.data(), bytes_.size());
  return std::move(bytes_);
}

void SdtWriter::le(uint64_t value, size_t size) {
  append_le(bytes_, value, size);
}

uint8_t checksum_byte(const uint8_t* bytes, size_t size) {
  uint8_t sum = 0;
  for (size_t i = 0; i < size; ++i) sum += bytes[i];
  return static_cast<uint8_t>(-sum);
}

}  // namespace kagami::acpi
