// The serial console backend: where the guest's UART output goes and its input comes from.
#pragma once

#include <termios.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>

#include "core/event_loop.hpp"

namespace kagami {

struct SerialConfig {
  enum class Kind { kStdio, kFile, kNone };
  Kind kind = Kind::kStdio;
  std::string path;  // for kFile
};

// Output: stdout, a file, or nowhere. Input (stdio only): stdin, in raw mode when it
// is a terminal, with the terminal restored on every exit path (normal return,
// exception, fatal signal, exit()). Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A.
class Console {
 public:
  // Throws std::runtime_error naming the file when the output cannot be opened.
  explicit Console(const SerialConfig& config);
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  // Called from vCPU threads for each run of transmitted bytes.
  void write(std::span<const uint8_t> bytes);

  // Starts reading input on the loop, which must outlive the console. `deliver` is offered pending
  // input and returns how many bytes it took (a UART takes what fits in its FIFO); call
  // input_space_available() when it can take more. `quit` runs on Ctrl-A x.
  void start_input(EventLoop& loop, std::function<size_t(std::span<const uint8_t>)> deliver,
                   std::function<void()> quit);
  // Thread-safe: the receiver has room again.
  void input_space_available();
  // Detaches the receiver (before the machine it belongs to goes away).
  void stop_input();

 private:
  void read_more();
  void push_pending();
  void handle_input(std::span<const uint8_t> bytes);

  int out_fd_ = -1;
  bool owns_out_fd_ = false;
  bool raw_mode_ = false;
  EventLoop* loop_ = nullptr;
  std::unique_ptr<boost::asio::posix::stream_descriptor> in_;
  std::array<uint8_t, 256> read_buf_{};
  bool reading_ = false;
  bool escape_pending_ = false;
  std::mutex lock_;  // guards pending_ and deliver_
  std::deque<uint8_t> pending_;
  std::function<size_t(std::span<const uint8_t>)> deliver_;
  std::function<void()> quit_;
};

}  // namespace kagami
