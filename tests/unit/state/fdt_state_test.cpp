// The state tree written with FdtStateWriter reads back the same through FdtStateReader.
#include "fdt_state.hpp"

#include <gtest/gtest.h>

namespace kagami {
namespace {

std::vector<uint8_t> sample_blob() {
  FdtStateWriter out(kStateKind);
  out.u32("count", 7);
  out.u64("tsc", 0x1122334455667788ull);
  out.string("name", "serial");
  out.begin_node("devices");
  out.begin_node("serial@3f8");
  out.u8("lcr", 0x03);
  out.u16("divisor", 12);
  out.flag("dlab", true);
  std::vector<uint8_t> fifo{1, 2, 3, 4, 5};
  out.bytes("rx-fifo", fifo);
  out.bytes("empty", {});
  out.end_node();
  out.begin_node("pit");
  out.u32("mode", 2);
  out.end_node();
  out.end_node();
  return out.finish();
}

TEST(FdtState, RoundTrip) {
  std::vector<uint8_t> blob = sample_blob();
  FdtStateReader in(blob, kStateKind);
  EXPECT_EQ(in.u32("count"), 7u);
  EXPECT_EQ(in.u64("tsc"), 0x1122334455667788ull);
  EXPECT_EQ(in.string("name", 16), "serial");
  EXPECT_EQ(in.u32("format-version"), kStateFormatVersion);
  EXPECT_EQ(in.string("kind", 32), kStateKind);
  ASSERT_TRUE(in.has_node("devices"));
  auto devices = in.node("devices");
  EXPECT_EQ(devices->path(), "/devices");
  auto serial = devices->node("serial@3f8");
  EXPECT_EQ(serial->path(), "/devices/serial@3f8");
  EXPECT_EQ(serial->u8("lcr"), 0x03);
  EXPECT_EQ(serial->u16("divisor"), 12);
  EXPECT_TRUE(serial->flag("dlab"));
  std::vector<uint8_t> fifo(5);
  serial->bytes("rx-fifo", fifo);
  EXPECT_EQ(fifo, (std::vector<uint8_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(serial->bytes("rx-fifo", 16), fifo);
  EXPECT_TRUE(serial->bytes("empty", 0).empty());
  EXPECT_TRUE(serial->has("lcr"));
  EXPECT_FALSE(serial->has("lsr"));
  EXPECT_EQ(devices->node("pit")->u32("mode"), 2u);
}

TEST(FdtState, LargeTreesGrowTheBuffer) {
  FdtStateWriter out(kStateKind);
  std::vector<uint8_t> page(4096, 0xab);
  for (int i = 0; i < 300; i++) {
    out.begin_node("cpu@" + std::to_string(i));
    out.bytes("xsave", page);
    out.u64("rip", static_cast<uint64_t>(i));
    out.end_node();
  }
  std::vector<uint8_t> blob = out.finish();
  EXPECT_GT(blob.size(), 300u * 4096);
  FdtStateReader in(blob, kStateKind);
  EXPECT_EQ(in.node("cpu@299")->u64("rip"), 299u);
  std::vector<uint8_t> back(4096);
  in.node("cpu@17")->bytes("xsave", back);
  EXPECT_EQ(back, page);
}

// StateWriter lets fields follow child nodes; an FDT needs them first: the writer reorders.
TEST(FdtState, FieldsAfterAChildNodeStillBelongToTheParent) {
  FdtStateWriter out(kStateKind);
  out.begin_node("pit@40");
  out.begin_node("channel-0");
  out.u32("count", 5);
  out.end_node();
  out.flag("irq0-level", true);
  out.end_node();
  out.u32("after", 9);
  std::vector<uint8_t> blob = out.finish();
  FdtStateReader in(blob, kStateKind);
  EXPECT_EQ(in.u32("after"), 9u);
  auto pit = in.node("pit@40");
  EXPECT_TRUE(pit->flag("irq0-level"));
  EXPECT_EQ(pit->node("channel-0")->u32("count"), 5u);
}

TEST(FdtState, NodeNamesMatchExactly) {
  std::vector<uint8_t> blob = sample_blob();
  FdtStateReader in(blob, kStateKind);
  auto devices = in.node("devices");
  EXPECT_FALSE(devices->has_node("serial"));  // libfdt alone would match serial@3f8
  EXPECT_THROW(devices->node("serial"), StateError);
  EXPECT_FALSE(in.has_node("serial@3f8"));  // not a grandchild either
}

TEST(FdtState, WriterRefusesBadNamesAndUnbalancedNodes) {
  FdtStateWriter out(kStateKind);
  EXPECT_THROW(out.u32("", 1), StateError);
  EXPECT_THROW(out.u32("has space", 1), StateError);
  EXPECT_THROW(out.u32("a-name-that-is-far-too-long-for-fdt", 1), StateError);
  EXPECT_THROW(out.begin_node("bad@"), StateError);
  EXPECT_THROW(out.u32("kind", 1), StateError);  // the root's own field
  out.u32("x", 1);
  EXPECT_THROW(out.u32("x", 2), StateError);
  EXPECT_THROW(out.string("s", std::string_view("a\0b", 3)), StateError);
  EXPECT_THROW(out.end_node(), StateError);
  out.begin_node("open");
  EXPECT_THROW(out.finish(), StateError);
  out.end_node();
  EXPECT_NO_THROW(out.finish());
  EXPECT_THROW(out.finish(), StateError);
  EXPECT_THROW(out.u32("y", 1), StateError);
}

TEST(FdtState, DumpShowsEveryKindOfField) {
  std::string text = dump_state_text(sample_blob());
  EXPECT_NE(text.find("format-version = <0x1>;"), std::string::npos) << text;
  EXPECT_NE(text.find("kind = \"kagami-state\";"), std::string::npos) << text;
  EXPECT_NE(text.find("tsc = /bits/ 64 <0x1122334455667788>;"), std::string::npos) << text;
  EXPECT_NE(text.find("    devices {\n        serial@3f8 {\n"), std::string::npos) << text;
  EXPECT_NE(text.find("            rx-fifo = [01 02 03 04 05];"), std::string::npos) << text;
  EXPECT_NE(text.find("            empty;"), std::string::npos) << text;
  EXPECT_NE(text.find("        pit {\n            mode = <0x2>;\n        };\n    };\n};\n"),
            std::string::npos)
      << text;
}

TEST(FdtState, DumpAbbreviatesLongBytes) {
  FdtStateWriter out(kMachineKind);
  out.bytes("page", std::vector<uint8_t>(4096, 0x5a));
  std::string text = dump_state_text(out.finish());
  EXPECT_NE(text.find("page = [5a 5a"), std::string::npos) << text;
  EXPECT_NE(text.find("...] /* 4096 bytes */;"), std::string::npos) << text;
  EXPECT_LT(text.size(), 400u);
}

TEST(FdtState, DumpReadsAnyKindAndVersion) {
  FdtStateWriter out("something-else");
  std::string text = dump_state_text(out.finish());
  EXPECT_NE(text.find("kind = \"something-else\""), std::string::npos) << text;
}

}  // namespace
}  // namespace kagami
