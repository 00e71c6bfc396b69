// Unit tests of DeadlineTimer: device models' timer hooks served on the event loop.
#include "core/deadline_timer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace kagami::test {
namespace {

uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// Runs the loop on another thread until stop(), so arm() is called from "a vCPU thread".
struct LoopThread {
  EventLoop loop;
  std::thread thread{[this] { loop.run(); }};
  ~LoopThread() {
    loop.stop();
    thread.join();
  }
};

TEST(DeadlineTimer, CallsBackAtTheDeadlineNotBefore) {
  LoopThread t;
  std::atomic<uint64_t> fired_at{0};
  DeadlineTimer timer(t.loop, [&] { fired_at = now_ns(); });
  const uint64_t deadline = now_ns() + 20'000'000;
  timer.arm(deadline);
  for (int i = 0; i < 200 && fired_at == 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_NE(fired_at.load(), 0u) << "never called back";
  EXPECT_GE(fired_at.load(), deadline);
}

TEST(DeadlineTimer, TheLatestRequestWins) {
  LoopThread t;
  std::atomic<int> calls{0};
  DeadlineTimer timer(t.loop, [&] { calls++; });
  timer.arm(now_ns() + 5'000'000);
  timer.arm(std::nullopt);  // cancels the first
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(calls.load(), 0);
  timer.arm(now_ns() + 1'000'000'000);
  timer.arm(now_ns() + 5'000'000);  // replaces the far one
  for (int i = 0; i < 100 && calls == 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(calls.load(), 1);
}

TEST(DeadlineTimer, NothingRunsAfterDestruction) {
  EventLoop loop;
  int calls = 0;
  {
    DeadlineTimer timer(loop, [&] { calls++; });
    timer.arm(now_ns());  // queued on the loop, which is not running yet
  }
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    loop.stop();
  });
  loop.run();
  stopper.join();
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace kagami::test
