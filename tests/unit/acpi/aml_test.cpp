// AML builder: byte sequences checked against what iasl 20200925 compiles from the same ASL.
#include "acpi/aml.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace kagami::aml {
namespace {

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

Bytes zeros(size_t count) {
  return Bytes(count, 0);
}

TEST(AmlPkgLength, OneByteUpTo63) {
  EXPECT_EQ(pkg_length(0), (Bytes{0x01}));
  EXPECT_EQ(pkg_length(62), (Bytes{0x3f}));
}

TEST(AmlPkgLength, TwoBytesCountThemselves) {
  EXPECT_EQ(pkg_length(63), (Bytes{0x41, 0x04}));  // 63 + 2 = 0x41
  EXPECT_EQ(pkg_length(72), (Bytes{0x4a, 0x04}));  // iasl, Buffer of 70 bytes
  EXPECT_EQ(pkg_length(4093), (Bytes{0x4f, 0xff}));
}

TEST(AmlPkgLength, ThreeAndFourBytes) {
  EXPECT_EQ(pkg_length(4094), (Bytes{0x81, 0x00, 0x01}));  // 4094 + 3 = 0x1001
  EXPECT_EQ(pkg_length(5003), (Bytes{0x8e, 0x38, 0x01}));  // iasl, Buffer of 5000 bytes
  EXPECT_EQ(pkg_length((1u << 20) - 4), (Bytes{0x8f, 0xff, 0xff}));
  EXPECT_EQ(pkg_length((1u << 20) - 3), (Bytes{0xc1, 0x00, 0x00, 0x01}));
  EXPECT_EQ(pkg_length((1u << 28) - 5), (Bytes{0xcf, 0xff, 0xff, 0xff}));
}

TEST(AmlPkgLength, RefusesMoreThan28Bits) {
  EXPECT_THROW(pkg_length((1u << 28) - 4), std::invalid_argument);
}

TEST(AmlNameString, PadsSegmentsAndUsesPrefixes) {
  EXPECT_EQ(name_string("_HID"), (Bytes{'_', 'H', 'I', 'D'}));
  EXPECT_EQ(name_string("RTC"), (Bytes{'R', 'T', 'C', '_'}));
  EXPECT_EQ(name_string("\\_S5"), (Bytes{0x5c, '_', 'S', '5', '_'}));
  EXPECT_EQ(name_string("\\_SB.PCI0"), (Bytes{0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0'}));
  EXPECT_EQ(name_string("\\_SB.PCI0.XYZ"),
            (Bytes{0x5c, 0x2f, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'X', 'Y', 'Z', '_'}));
  EXPECT_EQ(name_string("^^FOO"), (Bytes{0x5e, 0x5e, 'F', 'O', 'O', '_'}));
  EXPECT_EQ(name_string(""), (Bytes{0x00}));
  EXPECT_EQ(name_string("\\"), (Bytes{0x5c, 0x00}));
}

TEST(AmlNameString, RefusesBadSegments) {
  for (const char* bad : {"_HIDX", "1ABC", "ab", "A..B", "A.", ".A", "\\^A", "A-B"}) {
    EXPECT_THROW(name_string(bad), std::invalid_argument) << bad;
  }
}

TEST(AmlInteger, ShortestEncoding) {
  EXPECT_EQ(integer(0), (Bytes{0x00}));
  EXPECT_EQ(integer(1), (Bytes{0x01}));
  EXPECT_EQ(integer(2), (Bytes{0x0a, 0x02}));
  EXPECT_EQ(integer(0xff), (Bytes{0x0a, 0xff}));
  EXPECT_EQ(integer(0x100), (Bytes{0x0b, 0x00, 0x01}));
  EXPECT_EQ(integer(0x1234), (Bytes{0x0b, 0x34, 0x12}));
  EXPECT_EQ(integer(0x12345678), (Bytes{0x0c, 0x78, 0x56, 0x34, 0x12}));
  EXPECT_EQ(integer(0x123456789a), (Bytes{0x0e, 0x9a, 0x78, 0x56, 0x34, 0x12, 0x00, 0x00, 0x00}));
  EXPECT_EQ(integer(UINT64_MAX), (Bytes{0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
}

TEST(AmlData, StringBufferPackage) {
  EXPECT_EQ(string("abc"), (Bytes{0x0d, 'a', 'b', 'c', 0x00}));
  EXPECT_THROW(string(std::string_view("a\0b", 3)), std::invalid_argument);
  const uint8_t three[] = {1, 2, 3};
  EXPECT_EQ(buffer(three), (Bytes{0x11, 0x06, 0x0a, 0x03, 1, 2, 3}));
  EXPECT_EQ(buffer(zeros(70)), concat({{0x11, 0x4a, 0x04, 0x0a, 0x46}, zeros(70)}));
  EXPECT_EQ(buffer(zeros(5000)), concat({{0x11, 0x8e, 0x38, 0x01, 0x0b, 0x88, 0x13}, zeros(5000)}));
  EXPECT_EQ(package({integer(0x1ffff), integer(3), integer(0), integer(19)}),
            (Bytes{0x12, 0x0c, 0x04, 0x0c, 0xff, 0xff, 0x01, 0x00, 0x0a, 0x03, 0x00, 0x0a, 0x13}));
  EXPECT_THROW(package(std::vector<Bytes>(256, integer(0))), std::invalid_argument);
}

TEST(AmlEisaId, CompressesLikeIasl) {
  EXPECT_EQ(eisa_id_value("PNP0A03"), 0x030ad041u);
  EXPECT_EQ(eisa_id("PNP0A08"), (Bytes{0x0c, 0x41, 0xd0, 0x0a, 0x08}));
  EXPECT_EQ(eisa_id("PNP0B00"), (Bytes{0x0c, 0x41, 0xd0, 0x0b, 0x00}));
  for (const char* bad : {"PNP0A0", "PNP0A088", "pnp0a08", "PNP0A0G", "P1P0A08"}) {
    EXPECT_THROW(eisa_id_value(bad), std::invalid_argument) << bad;
  }
}

TEST(AmlObjects, NameDeviceScope) {
  EXPECT_EQ(name("_S5", package({integer(5), integer(5), integer(0), integer(0)})),
            (Bytes{0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0, 0}));
  EXPECT_EQ(name("\\_SB.PCI0.XYZ", integer(1)),
            (Bytes{0x08, 0x5c, 0x2f, 0x03, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'X', 'Y', 'Z',
                   '_', 0x01}));
  EXPECT_EQ(device("RTC", {name("_HID", eisa_id("PNP0B00"))}),
            (Bytes{0x5b, 0x82, 0x0f, 'R', 'T', 'C', '_', 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0,
                   0x0b, 0x00}));
  EXPECT_EQ(scope("\\_SB.PCI0", {name("FOO", integer(0))}),
            (Bytes{0x10, 0x11, 0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 0x08, 'F', 'O',
                   'O', '_', 0x00}));
}

TEST(AmlObjects, MethodWithReturn) {
  EXPECT_EQ(method("_STA", 0, false, {return_value(integer(0x0f))}),
            (Bytes{0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f}));
  EXPECT_EQ(method("FOO", 2, true, {return_value(string("x"))}),
            (Bytes{0x14, 0x0a, 'F', 'O', 'O', '_', 0x0a, 0xa4, 0x0d, 'x', 0x00}));
  EXPECT_THROW(method("FOO", 8, false, {}), std::invalid_argument);
}

// Two-byte PkgLengths nest: a device whose body crosses 63 bytes.
TEST(AmlObjects, LargeDeviceUsesTwoBytePkgLength) {
  Bytes big = device("BIG", {name("BUF", buffer(zeros(100)))});
  ASSERT_GE(big.size(), 4u);
  EXPECT_EQ(big[2] >> 6, 1) << "two-byte PkgLength";
  size_t total = (big[2] & 0x0f) | big[3] << 4;
  EXPECT_EQ(total, big.size() - 2);  // everything after ExtOpPrefix DeviceOp
}

TEST(AmlResources, AddressSpaceDescriptorsMatchIasl) {
  EXPECT_EQ(word_bus_number(0, 0xff), (Bytes{0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00,
                                             0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x01}));
  EXPECT_EQ(word_io(0, 0xcf7), (Bytes{0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x00,
                                      0xf7, 0x0c, 0x00, 0x00, 0xf8, 0x0c}));
  EXPECT_EQ(dword_io(0xd00, 0xffff),
            (Bytes{0x87, 0x17, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x00,
                   0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf3, 0x00, 0x00}));
  EXPECT_EQ(dword_memory(0xc0000000, 0xdfffffff, Cache::kNonCacheable),
            (Bytes{0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                   0xc0, 0xff, 0xff, 0xff, 0xdf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20}));
  EXPECT_EQ(qword_memory(0x40'0000'0000, 0x7f'ffff'ffff, Cache::kCacheable),
            concat({{0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x03},
                    zeros(8),
                    {0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00},
                    {0xff, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x00, 0x00},
                    zeros(8),
                    {0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00}}));
}

TEST(AmlResources, AddressSpaceRefusesEmptyOrUnencodableRanges) {
  EXPECT_THROW(word_io(0x10, 0x0f), std::invalid_argument);
  EXPECT_THROW(word_io(0, 0xffff), std::invalid_argument);  // length 0x10000 needs 17 bits
  EXPECT_THROW(qword_memory(0, UINT64_MAX, Cache::kCacheable), std::invalid_argument);
  EXPECT_NO_THROW(word_io(1, 0xffff));
}

TEST(AmlResources, SmallAndFixedDescriptorsMatchIasl) {
  EXPECT_EQ(io(0xcf8, 0xcf8, 1, 8), (Bytes{0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08}));
  EXPECT_EQ(memory32_fixed(0xe0000000, 0x10000000, true),
            (Bytes{0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xe0, 0x00, 0x00, 0x00, 0x10}));
  EXPECT_THROW(memory32_fixed(0xf0000000, 0x10000001, true), std::invalid_argument);
  EXPECT_THROW(io(0x3f8, 0x3f7, 1, 8), std::invalid_argument);
  const uint8_t com1[] = {4};
  EXPECT_EQ(irq_no_flags(com1), (Bytes{0x22, 0x10, 0x00}));
  const uint8_t two[] = {1, 12};
  EXPECT_EQ(irq_no_flags(two), (Bytes{0x22, 0x02, 0x10}));
  const uint8_t bad[] = {16};
  EXPECT_THROW(irq_no_flags(bad), std::invalid_argument);
  const uint32_t gsis[] = {16, 17};
  EXPECT_EQ(interrupt({}, gsis),
            (Bytes{0x89, 0x0a, 0x00, 0x0d, 0x02, 0x10, 0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00}));
  EXPECT_EQ(interrupt({.level = false, .active_low = false, .shared = false}, gsis)[3], 0x03);
  EXPECT_THROW(interrupt({}, {}), std::invalid_argument);
}

TEST(AmlResources, TemplateEndsWithAChecksummedEndTag) {
  const uint8_t com1[] = {4};
  Bytes crs = resource_template({io(0x3f8, 0x3f8, 0, 8), irq_no_flags(com1)});
  // BufferOp PkgLength(16) BytePrefix 13, then IO (8 bytes), IRQ (3), EndTag (2)
  ASSERT_EQ(crs.size(), 17u);
  EXPECT_EQ(Bytes(crs.begin(), crs.begin() + 4), (Bytes{0x11, 0x10, 0x0a, 13}));
  EXPECT_EQ(crs[15], 0x79);
  uint8_t sum = 0;
  for (size_t i = 4; i < crs.size(); ++i) sum += crs[i];
  EXPECT_EQ(sum, 0);
  EXPECT_EQ(crs[16], 0x0f) << "a real checksum, not iasl's 0";
}

}  // namespace
}  // namespace kagami::aml
