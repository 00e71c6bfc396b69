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
  for (const char* topic : {"run", "migrate", "api", "state"}) {
    Options o = parse({"help", topic});
    EXPECT_EQ(o.command, Command::kHelp);
    EXPECT_EQ(o.help_topic, topic);
    o = parse({topic, "--help"});  // also without the required options
    EXPECT_EQ(o.command, Command::kHelp) << topic;
    EXPECT_EQ(o.help_topic, topic);
  }
  EXPECT_EQ(parse({"migrate", "-h", "--to", "tcp:h:1"}).command, Command::kHelp);
  EXPECT_EQ(parse({"state", "dump", "--help"}).help_topic, "state");
  EXPECT_EQ(parse({"state"}).help_topic, "state");
}

TEST(ParseOptions, RunMigrationOptions) {
  Options o = parse({"run", "--kernel", "k", "--api-socket", "/run/vm.sock", "--migration-key",
                     "/etc/key", "--incoming", "tcp:0.0.0.0:4444", "--shared-memory"});
  EXPECT_EQ(o.command, Command::kRun);
  EXPECT_EQ(o.run.api_socket, "/run/vm.sock");
  EXPECT_EQ(o.run.migration_key, "/etc/key");
  EXPECT_EQ(o.run.incoming, "tcp:0.0.0.0:4444");
  EXPECT_TRUE(o.run.shared_memory);

  o = parse({"run", "--kernel", "k", "--incoming=unix:/tmp/in.sock", "--api-socket=/a"});
  EXPECT_EQ(o.run.incoming, "unix:/tmp/in.sock");  // a local migration needs no key
  EXPECT_TRUE(o.run.migration_key.empty());
  EXPECT_EQ(o.run.api_socket, "/a");

  o = parse({"run", "--kernel", "k"});
  EXPECT_TRUE(o.run.api_socket.empty());
  EXPECT_TRUE(o.run.incoming.empty());
  EXPECT_FALSE(o.run.shared_memory);
}

TEST(ParseOptions, TcpIncomingNeedsAKey) {
  try {
    parse({"run", "--kernel", "k", "--incoming", "tcp:[::]:4444"});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--migration-key"), std::string::npos) << e.what();
  }
}

TEST(ParseOptions, TlsOptions) {
  Options o = parse({"run", "--kernel", "k", "--incoming", "tcp:0.0.0.0:4444", "--tls-cert",
                     "/pki/vm.crt", "--tls-key=/pki/vm.key", "--tls-ca", "/pki/ca.crt"});
  EXPECT_EQ(o.run.tls_cert, "/pki/vm.crt");
  EXPECT_EQ(o.run.tls_key, "/pki/vm.key");
  EXPECT_EQ(o.run.tls_ca, "/pki/ca.crt");
  EXPECT_TRUE(o.run.migration_key.empty());  // TLS alone authenticates a TCP listener

  // All three or none, and the message names what is missing.
  try {
    parse({"run", "--kernel", "k", "--tls-cert", "/pki/vm.crt", "--tls-ca", "/pki/ca.crt"});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("missing: --tls-key"), std::string::npos) << e.what();
  }
  for (const char* empty : {"--tls-cert=", "--tls-key=", "--tls-ca="})
    EXPECT_THROW(parse({"run", "--kernel", "k", empty}), UsageError) << empty;
}

TEST(ParseOptions, Migrate) {
  Options o = parse({"migrate", "--api-socket", "/run/vm.sock", "--to", "tcp:10.0.0.2:4444",
                     "--downtime-ms", "50", "--bandwidth=100", "--time-limit", "60",
                     "--no-auto-converge", "--settle-passes", "0"});
  EXPECT_EQ(o.command, Command::kMigrate);
  EXPECT_EQ(o.migrate.api_socket, "/run/vm.sock");
  EXPECT_EQ(o.migrate.to, "tcp:10.0.0.2:4444");
  EXPECT_EQ(o.migrate.downtime_ms, 50u);
  EXPECT_EQ(o.migrate.bandwidth_mib, 100u);
  EXPECT_EQ(o.migrate.time_limit_s, 60u);
  EXPECT_FALSE(o.migrate.auto_converge);
  EXPECT_FALSE(o.migrate.local);
  EXPECT_EQ(o.migrate.settle_passes, 0u);

  o = parse({"migrate", "--api-socket", "s", "--to", "unix:/tmp/new.sock", "--local"});
  EXPECT_TRUE(o.migrate.local);
  EXPECT_EQ(o.migrate.downtime_ms, 300u);
  EXPECT_EQ(o.migrate.bandwidth_mib, 0u);
  EXPECT_EQ(o.migrate.time_limit_s, 0u);
  EXPECT_TRUE(o.migrate.auto_converge);
  EXPECT_EQ(o.migrate.settle_passes, 8u);
}

TEST(ParseOptions, ApiAndStateDump) {
  Options o = parse({"api", "--api-socket", "/s", R"({"command":"status"})"});
  EXPECT_EQ(o.command, Command::kApi);
  EXPECT_EQ(o.api.api_socket, "/s");
  EXPECT_EQ(o.api.request, R"({"command":"status"})");
  o = parse({"state", "dump", "vm.state"});
  EXPECT_EQ(o.command, Command::kStateDump);
  EXPECT_EQ(o.state_file, "vm.state");
}

TEST(CheckEndpoint, Forms) {
  for (const char* good :
       {"tcp:host:1", "tcp:10.0.0.2:65535", "tcp:[::1]:4444", "unix:/x", "unix:rel"})
    EXPECT_NO_THROW(check_endpoint("--to", good)) << good;
  for (const char* bad : {"", "tcp:", "tcp:host", "tcp::4444", "tcp:host:0", "tcp:host:65536",
                          "tcp:host:12x", "tcp:host:-1", "unix:", "udp:h:1", "host:1", "/path"})
    EXPECT_THROW(check_endpoint("--to", bad), UsageError) << bad;
}

TEST(ParseOptions, MigrationUserErrors) {
  const std::vector<std::vector<std::string>> bad = {
      {"run", "--kernel", "k", "--incoming", "tcp:h:1"},  // no key
      {"run", "--kernel", "k", "--incoming", "nowhere"},
      {"run", "--kernel", "k", "--incoming"},
      {"run", "--kernel", "k", "--api-socket"},
      {"run", "--kernel", "k", "--api-socket", ""},
      {"run", "--kernel", "k", "--migration-key="},
      {"run", "--kernel", "k", "--shared-memory=yes"},
      {"run", "--api-socket", "/s"},  // still needs a kernel
      {"migrate"},
      {"migrate", "--to", "tcp:h:1"},
      {"migrate", "--api-socket", "s"},
      {"migrate", "--api-socket", "s", "--to", "h:1"},
      {"migrate", "--api-socket", "s", "--to", "tcp:h:1", "--local"},
      {"migrate", "--api-socket", "s", "--to", "tcp:h:1", "--downtime-ms", "0"},
      {"migrate", "--api-socket", "s", "--to", "tcp:h:1", "--downtime-ms", "600001"},
      {"migrate", "--api-socket", "s", "--to", "tcp:h:1", "--downtime-ms", "-5"},
      {"migrate", "--api-socket", "s", "--to", "tcp:h:1", "--bandwidth", "0"},
      {"migrate", "--api-socket", "s", "--to", "tcp:h:1", "--bandwidth", "1.5"},
      {"migrate", "--api-socket", "s", "--to", "tcp:h:1", "--bandwidth", "99999999999999"},
      {"migrate", "--api-socket", "s", "--to", "tcp:h:1", "--time-limit", "x"},
      {"migrate", "--api-socket", "s", "--to", "tcp:h:1", "--time-limit", "0"},
      {"migrate", "--api-socket", "s", "--to", "tcp:h:1", "--local=1"},
      {"migrate", "--api-socket", "s", "--to", "tcp:h:1", "--settle-passes", "65"},
      {"migrate", "--api-socket", "s", "--to", "tcp:h:1", "--settle-passes", "-1"},
      {"migrate", "--api-socket", "s", "--to", "tcp:h:1", "extra"},
      {"api"},
      {"api", "--api-socket", "s"},
      {"api", R"({"command":"status"})"},
      {"api", "--api-socket", "s", "{}", "{}"},
      {"api", "--api-socket", "s", "{\n}"},
      {"api", "--api-socket", "s", "{\r}"},
      {"api", "--api-socket", "s", "--bogus", "{}"},
      {"api", "--api-socket", "s", std::string(65 * 1024, ' ')},
      {"state", "dump"},
      {"state", "load", "f"},
      {"state", "dump", "a", "b"},
      {"state", "dump", "--bogus"},
      {"help", "frobnicate"},
  };
  for (const auto& args : bad)
    EXPECT_THROW(parse(args), UsageError) << testing::PrintToString(args);
}

}  // namespace
}  // namespace kagami
