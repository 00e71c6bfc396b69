// The event loop (Boost.Asio) for everything that is not a vCPU: console input,
// signals, timers, and later the control and migration sockets.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <functional>

namespace kagami {

class EventLoop {
 public:
  EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  boost::asio::io_context& context() { return io_; }

  // Runs handlers on the calling thread until stop() (returns at once when stop()
  // came first). rearm() makes it runnable again, for the next boot after a reset.
  void run();
  void rearm();
  // Thread-safe: makes run() return; handlers already queued are kept.
  void stop();
  // Thread-safe: runs fn on the loop's thread.
  void post(std::function<void()> fn);

  // Called on the loop's thread for SIGINT, SIGTERM and SIGHUP.
  void on_termination_signal(std::function<void(int)> handler) {
    signal_handler_ = std::move(handler);
  }

 private:
  void wait_for_signal();

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::signal_set signals_;
  std::function<void(int)> signal_handler_;
  std::atomic<bool> stopping_{false};
};

}  // namespace kagami
