// Running an io_context on the calling thread until one operation is done or a deadline passes.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>

namespace kagami {

// Runs handlers until `done` is set (true) or `timeout` passed (false). Handlers posted from
// other threads (a cancel) run here too.
inline bool run_until_done(boost::asio::io_context& io, const bool& done,
                           std::chrono::milliseconds timeout) {
  io.restart();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done && io.run_one_until(deadline) > 0) {
  }
  return done;
}

// After cancelling the operation: lets its handler run (with operation_aborted).
inline void drain(boost::asio::io_context& io, const bool& done) {
  io.restart();
  while (!done && io.run_one() > 0) {
  }
}

}  // namespace kagami
