// A ControlServer on its own io_context thread with a fake VM, and helpers to talk to it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/control_client.hpp"
#include "api/control_server.hpp"

namespace kagami {

// Records every call; `refuse` makes the next calls throw ControlError with that message.
class FakeVm : public VmControl {
 public:
  VmStatus status() override {
    std::lock_guard lock(mutex);
    calls.push_back("status");
    check();
    return current;
  }
  void pause() override { record("pause"); }
  void resume() override { record("resume"); }
  void migrate(const MigrateRequest& request) override {
    record("migrate");
    std::lock_guard lock(mutex);
    migrated = request;
  }
  void cancel_migration() override { record("migrate-cancel"); }
  uint64_t save_state(const std::string& path) override {
    record("save-state");
    std::lock_guard lock(mutex);
    saved_to = path;
    return 1234;
  }
  void quit() override { record("quit"); }

  std::vector<std::string> log() {
    std::lock_guard lock(mutex);
    return calls;
  }

  std::mutex mutex;
  std::vector<std::string> calls;
  std::string refuse;
  VmStatus current;
  std::optional<MigrateRequest> migrated;
  std::string saved_to;

 private:
  void record(const std::string& call) {
    std::lock_guard lock(mutex);
    calls.push_back(call);
    check();
  }
  void check() {
    if (!refuse.empty()) throw ControlError(refuse);
  }
};

class ControlServerTest : public testing::Test {
 protected:
  void SetUp() override {
    path_ = testing::TempDir() + "kagami-api-" + std::to_string(::getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name() + ".sock";
    ::unlink(path_.c_str());
    server_.emplace(io_, path_, vm_);
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    work_.reset();
    io_.stop();
    thread_.join();
    server_.reset();
  }

  // Runs fn on the server's thread, where its state lives.
  template <typename Fn>
  auto on_server(Fn fn) {
    std::packaged_task<decltype(fn())()> task(fn);
    auto result = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return result.get();
  }

  size_t clients() {
    return on_server([this] { return server_->clients(); });
  }

  // Waits (bounded) until the server counts `n` clients: closing is seen asynchronously.
  bool wait_for_clients(size_t n) {
    for (int i = 0; i < 500; i++) {
      if (clients() == n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  Json ask(const std::string& line) {
    ControlClient client(path_);
    return parse_json(client.exchange(line));
  }

  static std::string error_of(const Json& reply) {
    EXPECT_FALSE(reply.find("ok")->as_bool()) << to_json(reply);
    const Json* error = reply.find("error");
    return error && error->is_string() ? error->as_string() : "";
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  FakeVm vm_;
  std::string path_;
  std::optional<ControlServer> server_;
  std::thread thread_;
};

}  // namespace kagami
