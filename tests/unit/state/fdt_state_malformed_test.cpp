// Malformed state blobs: each is refused with a StateError that says what is wrong.
#include <endian.h>
#include <gtest/gtest.h>
#include <libfdt.h>

#include <cstring>

#include "fdt_state.hpp"

namespace kagami {
namespace {

std::vector<uint8_t> blob_with_serial() {
  FdtStateWriter out(kStateKind);
  out.begin_node("serial@3f8");
  out.u32("lcr", 3);
  out.u64("count", 9);
  out.bytes("fifo", std::vector<uint8_t>{1, 2, 3});
  out.string("name", "com1");
  out.end_node();
  return out.finish();
}

// The StateError message of constructing a reader over `blob`, or "" when it was accepted.
std::string refusal(std::span<const uint8_t> blob, std::string_view kind = kStateKind) {
  try {
    FdtStateReader in(blob, kind);
  } catch (const StateError& e) {
    return e.what();
  }
  return "";
}

void set_header_field(std::vector<uint8_t>& blob, size_t offset, uint32_t value) {
  uint32_t be = htobe32(value);
  std::memcpy(blob.data() + offset, &be, 4);
}

TEST(FdtStateMalformed, TruncatedBlob) {
  std::vector<uint8_t> blob = blob_with_serial();
  for (size_t size : {size_t{0}, size_t{10}, sizeof(fdt_header), blob.size() - 1}) {
    std::string why = refusal(std::span(blob).first(size));
    EXPECT_FALSE(why.empty()) << size;
  }
  EXPECT_NE(refusal(std::span(blob).first(10)).find("shorter than its header"), std::string::npos);
  EXPECT_NE(refusal(std::span(blob).first(blob.size() - 1)).find("header says"), std::string::npos);
}

TEST(FdtStateMalformed, TrailingBytes) {
  std::vector<uint8_t> blob = blob_with_serial();
  blob.push_back(0);
  EXPECT_NE(refusal(blob).find("header says"), std::string::npos);
}

TEST(FdtStateMalformed, OverTheSizeBound) {
  std::vector<uint8_t> huge(kMaxStateSize + 1);
  EXPECT_NE(refusal(huge).find("more than the maximum"), std::string::npos);
}

TEST(FdtStateMalformed, BadMagic) {
  std::vector<uint8_t> blob = blob_with_serial();
  blob[0] ^= 0xff;
  EXPECT_NE(refusal(blob).find("bad magic"), std::string::npos);
}

TEST(FdtStateMalformed, CorruptedOffsets) {
  const std::vector<uint8_t> good = blob_with_serial();
  for (size_t field : {offsetof(fdt_header, off_dt_struct), offsetof(fdt_header, off_dt_strings),
                       offsetof(fdt_header, size_dt_struct), offsetof(fdt_header, size_dt_strings),
                       offsetof(fdt_header, off_mem_rsvmap)}) {
    for (uint32_t value : {0x7fffffffu, 0xffffffffu, 3u, 0u}) {
      std::vector<uint8_t> blob = good;
      set_header_field(blob, field, value);
      EXPECT_FALSE(refusal(blob).empty()) << "header field at " << field << " = " << value;
    }
  }
}

TEST(FdtStateMalformed, WrongVersion) {
  std::vector<uint8_t> blob = blob_with_serial();
  ASSERT_EQ(fdt_setprop_inplace_u32(blob.data(), 0, "format-version", 2), 0);
  EXPECT_NE(refusal(blob).find("format version 2, this kagami reads version 1"), std::string::npos);
  std::vector<uint8_t> missing = blob_with_serial();
  ASSERT_EQ(fdt_delprop(missing.data(), 0, "format-version"), 0);
  EXPECT_NE(refusal(missing).find("no format-version"), std::string::npos);
}

TEST(FdtStateMalformed, WrongKind) {
  std::vector<uint8_t> blob = blob_with_serial();
  EXPECT_NE(refusal(blob, kMachineKind).find("'kagami-state' tree where a 'kagami-machine'"),
            std::string::npos);
  ASSERT_EQ(fdt_delprop(blob.data(), 0, "kind"), 0);
  EXPECT_NE(refusal(blob).find("/kind: missing"), std::string::npos);
}

TEST(FdtStateMalformed, DuplicateNames) {
  // Built by hand: the writer refuses to write a name twice.
  std::vector<uint8_t> blob(1024);
  ASSERT_EQ(fdt_create(blob.data(), 1024), 0);
  ASSERT_EQ(fdt_finish_reservemap(blob.data()), 0);
  ASSERT_EQ(fdt_begin_node(blob.data(), ""), 0);
  ASSERT_EQ(fdt_property_u32(blob.data(), "format-version", 1), 0);
  ASSERT_EQ(fdt_property_string(blob.data(), "kind", "kagami-state"), 0);
  ASSERT_EQ(fdt_property_u32(blob.data(), "lcr", 1), 0);
  ASSERT_EQ(fdt_property_u32(blob.data(), "lcr", 2), 0);
  ASSERT_EQ(fdt_end_node(blob.data()), 0);
  ASSERT_EQ(fdt_finish(blob.data()), 0);
  blob.resize(fdt_totalsize(blob.data()));
  EXPECT_NE(refusal(blob).find("field 'lcr' appears twice"), std::string::npos) << refusal(blob);
}

TEST(FdtStateMalformed, FieldAfterAChildNode) {
  // Built by hand: libfdt's reader would never see the field.
  std::vector<uint8_t> blob(1024);
  ASSERT_EQ(fdt_create(blob.data(), 1024), 0);
  ASSERT_EQ(fdt_finish_reservemap(blob.data()), 0);
  ASSERT_EQ(fdt_begin_node(blob.data(), ""), 0);
  ASSERT_EQ(fdt_property_u32(blob.data(), "format-version", 1), 0);
  ASSERT_EQ(fdt_property_string(blob.data(), "kind", "kagami-state"), 0);
  ASSERT_EQ(fdt_begin_node(blob.data(), "child"), 0);
  ASSERT_EQ(fdt_end_node(blob.data()), 0);
  ASSERT_EQ(fdt_property_u32(blob.data(), "hidden", 2), 0);
  ASSERT_EQ(fdt_end_node(blob.data()), 0);
  ASSERT_EQ(fdt_finish(blob.data()), 0);
  blob.resize(fdt_totalsize(blob.data()));
  EXPECT_NE(refusal(blob).find("a field after a child node"), std::string::npos) << refusal(blob);
}

class FdtStateFields : public testing::Test {
 protected:
  std::vector<uint8_t> blob_ = blob_with_serial();
  FdtStateReader root_{blob_, kStateKind};
  std::unique_ptr<StateReader> serial_ = root_.node("serial@3f8");
};

std::string error_of(auto call) {
  try {
    call();
  } catch (const StateError& e) {
    return e.what();
  }
  return "";
}

TEST_F(FdtStateFields, MissingField) {
  EXPECT_EQ(error_of([&] { serial_->u32("lsr"); }), "/serial@3f8/lsr: missing");
  EXPECT_EQ(error_of([&] { serial_->u64("lsr"); }), "/serial@3f8/lsr: missing");
  EXPECT_EQ(error_of([&] { serial_->string("lsr", 8); }), "/serial@3f8/lsr: missing");
  EXPECT_EQ(error_of([&] { serial_->bytes("lsr", 8); }), "/serial@3f8/lsr: missing");
}

TEST_F(FdtStateFields, WrongSize) {
  EXPECT_EQ(error_of([&] { serial_->u32("count"); }), "/serial@3f8/count: 8 bytes, expected 4");
  EXPECT_EQ(error_of([&] { serial_->u64("lcr"); }), "/serial@3f8/lcr: 4 bytes, expected 8");
  std::vector<uint8_t> four(4);
  EXPECT_EQ(error_of([&] { serial_->bytes("fifo", four); }),
            "/serial@3f8/fifo: 3 bytes, expected 4");
  EXPECT_NE(error_of([&] { serial_->string("lcr", 8); }).find("not a NUL-terminated string"),
            std::string::npos);
}

TEST_F(FdtStateFields, ValueOverItsBound) {
  EXPECT_EQ(error_of([&] { serial_->u32_max("lcr", 2); }),
            "/serial@3f8/lcr: 3 is above its maximum 2");
  EXPECT_NE(error_of([&] { serial_->flag("lcr"); }).find("above its maximum 1"), std::string::npos);
  EXPECT_NE(error_of([&] { serial_->bytes("fifo", 2); }).find("3 bytes, more than the maximum 2"),
            std::string::npos);
  EXPECT_NE(error_of([&] { serial_->string("name", 3); }).find("more than the maximum 3"),
            std::string::npos);
  EXPECT_EQ(serial_->string("name", 4), "com1");
}

TEST_F(FdtStateFields, NodeMissing) {
  EXPECT_EQ(error_of([&] { root_.node("pit@40"); }), "/pit@40: node missing");
  EXPECT_EQ(error_of([&] { serial_->node("fifo"); }), "/serial@3f8/fifo: node missing");
}

}  // namespace
}  // namespace kagami
