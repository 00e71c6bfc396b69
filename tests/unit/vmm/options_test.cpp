// Tests of the launcher's command-line parsing: every user error is a UsageError.
#include "cli/options.hpp"

#include <gtest/gtest.h>

namespace kagami {
namespace {

Options parse(std::vector<std::string> args) {
  return parse_options(args);
}

TEST(ParseSize, Suffixes) {
  EXPECT_EQ(parse_size("512M"), 512ull << 20);
  EXPECT_EQ(parse_size("512"), 512ull << 20);
  EXPECT_EQ(parse_size("4G"), 4ull << 30);
  EXPECT_EQ(parse_size("4GiB"), 4ull << 30);
  EXPECT_EQ(parse_size("65536K"), 64ull << 20);
  EXPECT_EQ(parse_size("1T"), 1ull << 40);
}

TEST(ParseSize, Garbage) {
  for (const char* bad : {"", "M", "12X", "-1", "1.5G", "99999999999999999999", "17179869184T"})
    EXPECT_THROW(parse_size(bad), UsageError) << bad;
}

TEST(ParseOptions, RunWithEverything) {
  Options o = parse({"run", "--kernel", "k.elf", "--initrd", "a", "--initrd=b", "--cmdline", "x y",
                     "--memory", "1G", "--serial", "file:/tmp/out", "--hypervisor", "/dev/kvm",
                     "--testdev", "--verbose", "--no-reboot"});
  EXPECT_EQ(o.command, Command::kRun);
  EXPECT_EQ(o.run.kernel, "k.elf");
  EXPECT_EQ(o.run.initrds, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(o.run.cmdline, "x y");
  EXPECT_EQ(o.run.memory, 1ull << 30);
  EXPECT_EQ(o.run.serial.kind, SerialConfig::Kind::kFile);
  EXPECT_EQ(o.run.serial.path, "/tmp/out");
  EXPECT_EQ(o.run.hypervisor, "/dev/kvm");
  EXPECT_TRUE(o.run.testdev);
  EXPECT_TRUE(o.run.verbose);
  EXPECT_TRUE(o.run.no_reboot);
}

TEST(ParseOptions, Defaults) {
  Options o = parse({"run", "--kernel", "k"});
  EXPECT_EQ(o.run.memory, 512ull << 20);
  EXPECT_EQ(o.run.cpus, 1u);
  EXPECT_EQ(o.run.serial.kind, SerialConfig::Kind::kStdio);
  EXPECT_TRUE(o.run.hypervisor.empty());
}

TEST(ParseOptions, UserErrors) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"frobnicate"},
      {"run"},
      {"run", "--kernel"},
      {"run", "--kernel", "k", "--memory", "lots"},
      {"run", "--kernel", "k", "--cpus", "0"},
      {"run", "--kernel", "k", "--cpus", "256"},
      {"run", "--kernel", "k", "--cpus", "x"},
      {"run", "--kernel", "k", "--serial", "tcp:1"},
      {"run", "--kernel", "k", "--serial", "file:"},
      {"run", "--kernel", "k", "--bogus"},
      {"run", "--kernel", "k", "--testdev=1"},
      {"help", "nothing"},
  };
  for (const auto& args : bad)
    EXPECT_THROW(parse(args), UsageError) << testing::PrintToString(args);
}

TEST(ParseOptions, HelpAndVersion) {
  EXPECT_EQ(parse({"--help"}).command, Command::kHelp);
  EXPECT_EQ(parse({"run", "--help"}).help_topic, "run");
  EXPECT_EQ(parse({"--version"}).command, Command::kVersion);
}

}  // namespace
}  // namespace kagami
