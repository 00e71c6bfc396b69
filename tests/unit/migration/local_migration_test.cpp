// Local migration over a Unix socket: the memfd itself changes hands, no RAM is copied; the
// socket is private to its owner and the peer's uid stands in for the key.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "harness.hpp"

namespace kagami::test {
namespace {

using State = MigrationStatus::State;

std::string socket_path(const char* name) {
  return "/tmp/kagami-mig-test-" + std::to_string(getpid()) + "-" + name + ".sock";
}

MigrationOptions local_to(const std::string& path) {
  MigrationOptions o;
  o.to = MigrationEndpoint::parse("unix:" + path);
  o.local = true;
  o.io_timeout_ms = 400;
  return o;
}

TEST(LocalMigration, HandsOverTheMemfdWithoutCopyingRam) {
  std::string path = socket_path("local");
  FakeSource source(4 << 20, GuestMemory::Backing::kMemfd);
  for (uint64_t p = 0; p < source.pages(); p++) source.write_page(p, p + 5);
  Destination destination(4 << 20, {}, "unix:" + path);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  destination.start();

  MigrationStatus status = migrate(source, local_to(path));
  ASSERT_EQ(status.state, State::kCompleted) << status.error;
  ASSERT_TRUE(destination.wait_result());
  EXPECT_EQ(destination.result, 1);
  ASSERT_NE(destination.vm.adopted, nullptr);
  EXPECT_EQ(
      std::memcmp(destination.vm.adopted, source.memory().host_base(), source.memory().size()), 0);
  EXPECT_LT(status.total_bytes, 4096u);  // handshake, description, memfd message, state
  EXPECT_TRUE(status.passes.empty());
  EXPECT_EQ(destination.vm.state, source.state);
  EXPECT_EQ(source.migrations, 1);
  EXPECT_EQ(source.dirty_log_starts, 0);
  destination.stop();
  EXPECT_NE(stat(path.c_str(), &st), 0);  // the listener removed its socket
}

TEST(LocalMigration, AnonymousRamIsRefusedWithAClearError) {
  FakeSource source(4 << 20, GuestMemory::Backing::kAnonymous);
  try {
    OutgoingMigration migration(source, local_to(socket_path("anon")));
    FAIL() << "no error";
  } catch (const MigrationError& e) {
    EXPECT_STREQ(e.what(), "guest RAM is not shared memory: start the source with --shared-memory");
  }
}

TEST(LocalMigration, RefusedStateResumesTheSourceAndLetsTheMemfdGo) {
  std::string path = socket_path("refused");
  FakeSource source(4 << 20, GuestMemory::Backing::kMemfd);
  Destination destination(4 << 20, {}, "unix:" + path);
  destination.vm.refuse_state = true;
  destination.start();
  MigrationStatus status = migrate(source, local_to(path));
  EXPECT_EQ(status.state, State::kFailed);
  expect_source_intact(source);
  EXPECT_EQ(source.resumes, 1);
  destination.wait_failure();
  EXPECT_EQ(destination.vm.discards, 1);
  EXPECT_EQ(destination.vm.adopted_fd, -1);
}

TEST(LocalMigration, ExistingPathIsNotTakenOver) {
  std::string path = socket_path("exists");
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  FakeDestination vm;
  EXPECT_THROW(IncomingMigration(vm, MigrationEndpoint::parse("unix:" + path), {}), MigrationError);
  unlink(path.c_str());
}

}  // namespace
}  // namespace kagami::test
