// The Boost.Asio event loop and termination-signal handling.
#include "core/event_loop.hpp"

#include <boost/asio/post.hpp>
#include <csignal>

namespace kagami {

EventLoop::EventLoop()
    : work_(boost::asio::make_work_guard(io_)), signals_(io_, SIGINT, SIGTERM, SIGHUP) {
  wait_for_signal();
}

void EventLoop::wait_for_signal() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    if (signal_handler_) signal_handler_(signo);
    wait_for_signal();
  });
}

void EventLoop::run() {
  while (!stopping_.load()) {
    io_.run();  // returns only when stopped: work_ keeps it busy
    if (!stopping_.load()) io_.restart();
  }
}

void EventLoop::rearm() {
  stopping_.store(false);
  io_.restart();
}

void EventLoop::stop() {
  stopping_.store(true);
  io_.stop();
}

void EventLoop::post(std::function<void()> fn) {
  boost::asio::post(io_, std::move(fn));
}

}  // namespace kagami
