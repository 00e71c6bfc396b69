// Tests of the control requests over a real socket with a fake VM: each command, its arguments
// and their bounds, and malformed requests (refused, and the connection stays usable).
#include "api/control_requests.hpp"
#include "control_fixture.hpp"

namespace kagami {
namespace {

TEST_F(ControlServerTest, StatusHasEveryField) {
  vm_.current.state = "migrating";
  vm_.current.vcpus = 2;
  vm_.current.memory = 256ull << 20;
  vm_.current.hypervisor = "/dev/kvm";
  MigrationStatus& m = vm_.current.migration;
  m.state = MigrationStatus::State::kActive;
  m.peer = "tcp:10.0.0.2:4444";
  m.ram_bytes = 256ull << 20;
  m.total_bytes = 1000;
  m.remaining_pages = 17;
  m.bandwidth = 1.5e8;
  m.expected_downtime_ms = 12.5;
  m.total_ms = 900;
  m.throttle_percent = 20;
  m.passes.push_back({0, 65536, 60000, 22000000, 0.75, 1200.5, 0});
  m.passes.push_back({1, 1000, 3, 4100000, 0.05, 900, 20, true});
  m.downtime_phases = {1.5, 0.25, 3.5, 8192, 0.5, 15805, 0.75, 1.25, 0.125};

  Json reply = ask(R"({"command":"status"})");
  EXPECT_TRUE(reply.find("ok")->as_bool());
  EXPECT_EQ(reply.find("state")->as_string(), "migrating");
  EXPECT_EQ(reply.find("vcpus")->as_int(), 2);
  EXPECT_EQ(reply.find("memory")->as_int(), 256 << 20);
  EXPECT_EQ(reply.find("hypervisor")->as_string(), "/dev/kvm");
  const Json& mig = *reply.find("migration");
  EXPECT_EQ(mig.find("state")->as_string(), "active");
  EXPECT_EQ(mig.find("peer")->as_string(), "tcp:10.0.0.2:4444");
  EXPECT_EQ(mig.find("error")->as_string(), "");
  EXPECT_EQ(mig.find("ram-bytes")->as_int(), 256 << 20);
  EXPECT_EQ(mig.find("total-bytes")->as_int(), 1000);
  EXPECT_EQ(mig.find("remaining-pages")->as_int(), 17);
  EXPECT_DOUBLE_EQ(mig.find("bandwidth")->as_double(), 1.5e8);
  EXPECT_DOUBLE_EQ(mig.find("expected-downtime-ms")->as_double(), 12.5);
  EXPECT_DOUBLE_EQ(mig.find("downtime-ms")->as_double(), 0);
  EXPECT_DOUBLE_EQ(mig.find("total-ms")->as_double(), 900);
  EXPECT_EQ(mig.find("throttle-percent")->as_int(), 20);
  const Json::Array& passes = mig.find("passes")->as_array();
  ASSERT_EQ(passes.size(), 2u);
  EXPECT_EQ(passes[0].find("index")->as_int(), 0);
  EXPECT_EQ(passes[0].find("pages")->as_int(), 65536);
  EXPECT_EQ(passes[0].find("zero-pages")->as_int(), 60000);
  EXPECT_EQ(passes[0].find("bytes")->as_int(), 22000000);
  EXPECT_DOUBLE_EQ(passes[0].find("seconds")->as_double(), 0.75);
  EXPECT_DOUBLE_EQ(passes[0].find("dirty-pages-per-second")->as_double(), 1200.5);
  EXPECT_EQ(passes[1].find("throttle-percent")->as_int(), 20);
  EXPECT_FALSE(passes[0].find("settling")->as_bool());
  EXPECT_TRUE(passes[1].find("settling")->as_bool());
  const Json& phases = *mig.find("downtime-phases");
  EXPECT_DOUBLE_EQ(phases.find("pause-ms")->as_double(), 1.5);
  EXPECT_DOUBLE_EQ(phases.find("collect-ms")->as_double(), 0.25);
  EXPECT_DOUBLE_EQ(phases.find("ram-ms")->as_double(), 3.5);
  EXPECT_EQ(phases.find("ram-bytes")->as_int(), 8192);
  EXPECT_DOUBLE_EQ(phases.find("state-save-ms")->as_double(), 0.5);
  EXPECT_EQ(phases.find("state-bytes")->as_int(), 15805);
  EXPECT_DOUBLE_EQ(phases.find("state-send-ms")->as_double(), 0.75);
  EXPECT_DOUBLE_EQ(phases.find("state-loaded-ms")->as_double(), 1.25);
  EXPECT_DOUBLE_EQ(phases.find("running-ms")->as_double(), 0.125);
}

TEST_F(ControlServerTest, MigrationStateNames) {
  using S = MigrationStatus::State;
  EXPECT_STREQ(to_string(S::kNone), "none");
  EXPECT_STREQ(to_string(S::kSetup), "setup");
  EXPECT_STREQ(to_string(S::kStopAndCopy), "stop-and-copy");
  EXPECT_STREQ(to_string(S::kCompleted), "completed");
  EXPECT_STREQ(to_string(S::kFailed), "failed");
  EXPECT_STREQ(to_string(S::kCancelled), "cancelled");
}

TEST_F(ControlServerTest, SimpleCommandsReachTheVm) {
  ControlClient client(path_);
  for (const char* command : {"pause", "resume", "migrate-cancel"}) {
    Json reply = parse_json(client.exchange(std::string(R"({"command":")") + command + "\"}"));
    EXPECT_EQ(to_json(reply), R"({"ok":true})") << command;
  }
  EXPECT_EQ(vm_.log(), (std::vector<std::string>{"pause", "resume", "migrate-cancel"}));
}

TEST_F(ControlServerTest, RefusalComesBackAsError) {
  {
    std::lock_guard lock(vm_.mutex);
    vm_.refuse = "the VM is not paused";
  }
  Json reply = ask(R"({"command":"resume"})");
  EXPECT_EQ(error_of(reply), "the VM is not paused");
}

TEST_F(ControlServerTest, MigrateWithEveryArgument) {
  Json reply =
      ask(R"({"command":"migrate","to":"unix:/run/k.sock","downtime-ms":50,"bandwidth":100,)"
          R"("time-limit-s":60,"auto-converge":false,"local":true,"settle-passes":0})");
  EXPECT_TRUE(reply.find("ok")->as_bool()) << to_json(reply);
  ASSERT_TRUE(vm_.migrated);
  EXPECT_EQ(vm_.migrated->to, "unix:/run/k.sock");
  EXPECT_EQ(vm_.migrated->downtime_ms, 50u);
  EXPECT_EQ(vm_.migrated->bandwidth_mib, 100u);
  EXPECT_EQ(vm_.migrated->time_limit_s, 60u);
  EXPECT_FALSE(vm_.migrated->auto_converge);
  EXPECT_TRUE(vm_.migrated->local);
  EXPECT_EQ(vm_.migrated->settle_passes, 0u);
}

TEST_F(ControlServerTest, MigrateDefaults) {
  ask(R"({"command":"migrate","to":"tcp:host:4444"})");
  ASSERT_TRUE(vm_.migrated);
  EXPECT_EQ(vm_.migrated->downtime_ms, 300u);
  EXPECT_EQ(vm_.migrated->bandwidth_mib, 0u);
  EXPECT_EQ(vm_.migrated->time_limit_s, 0u);
  EXPECT_TRUE(vm_.migrated->auto_converge);
  EXPECT_FALSE(vm_.migrated->local);
  EXPECT_EQ(vm_.migrated->settle_passes, 8u);
}

TEST_F(ControlServerTest, MigrateBadArgumentsChangeNothing) {
  const char* bad[] = {
      R"({"command":"migrate"})",
      R"({"command":"migrate","to":""})",
      R"({"command":"migrate","to":5})",
      R"({"command":"migrate","to":"tcp:h:1","downtime-ms":0})",
      R"({"command":"migrate","to":"tcp:h:1","downtime-ms":600001})",
      R"({"command":"migrate","to":"tcp:h:1","downtime-ms":1.5})",
      R"({"command":"migrate","to":"tcp:h:1","downtime-ms":"300"})",
      R"({"command":"migrate","to":"tcp:h:1","bandwidth":-1})",
      R"({"command":"migrate","to":"tcp:h:1","bandwidth":1048577})",
      R"({"command":"migrate","to":"tcp:h:1","time-limit-s":99999999999})",
      R"({"command":"migrate","to":"tcp:h:1","auto-converge":1})",
      R"({"command":"migrate","to":"tcp:h:1","local":true})",
      R"({"command":"migrate","to":"tcp:h:1","settle-passes":65})",
      R"({"command":"migrate","to":"tcp:h:1","settle-passes":-1})",
      R"({"command":"migrate","to":"tcp:h:1","downtime_ms":10})",
      R"({"command":"migrate","to":"unix:/a\u0000b"})",
  };
  ControlClient client(path_);
  for (const char* line : bad) {
    Json reply = parse_json(client.exchange(line));
    EXPECT_FALSE(error_of(reply).empty()) << line;
  }
  EXPECT_TRUE(vm_.log().empty());
}

TEST_F(ControlServerTest, SaveState) {
  Json reply = ask(R"({"command":"save-state","path":"/tmp/vm.state"})");
  EXPECT_EQ(to_json(reply), R"({"ok":true,"path":"/tmp/vm.state","bytes":1234})");
  EXPECT_EQ(vm_.saved_to, "/tmp/vm.state");
  EXPECT_FALSE(error_of(ask(R"({"command":"save-state"})")).empty());
  EXPECT_FALSE(error_of(ask(R"({"command":"save-state","path":["x"]})")).empty());
}

TEST_F(ControlServerTest, QuitRepliesFirst) {
  ControlClient client(path_);
  EXPECT_EQ(client.exchange(R"({"command":"quit"})"), R"({"ok":true})");
  for (int i = 0; i < 500 && vm_.log().empty(); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(vm_.log(), std::vector<std::string>{"quit"});
}

TEST_F(ControlServerTest, MalformedRequestsKeepTheConnection) {
  const char* bad[] = {
      "hello",
      "{",
      "[]",
      "{}",
      "42",
      R"({"command":5})",
      R"({"command":"frobnicate"})",
      R"({"command":"status","extra":1})",
      R"({"command":"pause","command":"resume"})",
      "\xff\xfe",
  };
  ControlClient client(path_);
  for (const char* line : bad) {
    Json reply = parse_json(client.exchange(line));
    EXPECT_FALSE(error_of(reply).empty()) << line;
    EXPECT_EQ(parse_json(client.exchange(R"({"command":"status"})")).find("ok")->as_bool(), true)
        << "after " << line;
  }
}

TEST_F(ControlServerTest, UnknownCommandListsTheKnownOnes) {
  std::string error = error_of(ask(R"({"command":"stop"})"));
  EXPECT_NE(error.find("migrate-cancel"), std::string::npos) << error;
}

}  // namespace
}  // namespace kagami
