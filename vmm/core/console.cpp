// The serial console backend: stdio (raw terminal), a file, or nothing.
#include "core/console.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace kagami {
namespace {

constexpr uint8_t kEscapeKey = 0x01;            // Ctrl-A, as in QEMU
constexpr size_t kMaxPendingInput = 64 * 1024;  // stop reading stdin beyond this

// The terminal state to restore. Globals because fatal-signal handlers and atexit
// need them; there is one terminal per process.
struct termios g_saved_termios;
volatile sig_atomic_t g_termios_saved = 0;
int g_saved_stdin_flags = -1;

void restore_terminal() {
  if (g_termios_saved) {
    tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
    g_termios_saved = 0;
  }
  if (g_saved_stdin_flags >= 0) {
    fcntl(STDIN_FILENO, F_SETFL, g_saved_stdin_flags);
    g_saved_stdin_flags = -1;
  }
}

// Restores the terminal, then lets the signal do what it would have done.
void fatal_signal_handler(int signo) {
  restore_terminal();
  signal(signo, SIG_DFL);
  raise(signo);
}

void install_restore_handlers() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  std::atexit(restore_terminal);
  for (int signo : {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE, SIGQUIT}) {
    struct sigaction sa {};
    sa.sa_handler = fatal_signal_handler;
    sa.sa_flags = SA_RESETHAND;
    sigaction(signo, &sa, nullptr);
  }
}

// Writes everything, also when another user of the terminal made it non-blocking.
void write_all(int fd, const uint8_t* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n > 0) {
      data += n;
      len -= static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      pollfd pfd{fd, POLLOUT, 0};
      poll(&pfd, 1, -1);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return;  // output gone (closed pipe, full disk): the guest keeps running
    }
  }
}

}  // namespace

Console::Console(const SerialConfig& config) {
  switch (config.kind) {
    case SerialConfig::Kind::kStdio:
      out_fd_ = STDOUT_FILENO;
      if (isatty(STDIN_FILENO)) {
        install_restore_handlers();
        struct termios raw;
        if (tcgetattr(STDIN_FILENO, &g_saved_termios) == 0) {
          g_termios_saved = 1;
          raw = g_saved_termios;
          cfmakeraw(&raw);
          raw.c_oflag |= OPOST | ONLCR;  // keep "\n" readable, as QEMU does
          tcsetattr(STDIN_FILENO, TCSANOW, &raw);
          raw_mode_ = true;
        }
      }
      break;
    case SerialConfig::Kind::kFile:
      out_fd_ = ::open(config.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (out_fd_ < 0)
        throw std::runtime_error("--serial file:" + config.path + ": " + strerror(errno));
      owns_out_fd_ = true;
      break;
    case SerialConfig::Kind::kNone: break;
  }
}

Console::~Console() {
  stop_input();
  in_.reset();
  if (owns_out_fd_) close(out_fd_);
  restore_terminal();
}

void Console::write(std::span<const uint8_t> bytes) {
  if (out_fd_ >= 0) write_all(out_fd_, bytes.data(), bytes.size());
}

void Console::start_input(EventLoop& loop, std::function<size_t(std::span<const uint8_t>)> deliver,
                          std::function<void()> quit) {
  {
    std::lock_guard guard(lock_);
    deliver_ = std::move(deliver);
    quit_ = std::move(quit);
  }
  loop_ = &loop;
  if (out_fd_ != STDOUT_FILENO || in_) {
    loop.post([this] { push_pending(); });
    return;
  }
  int fd = dup(STDIN_FILENO);
  if (fd < 0) return;  // no stdin: output only
  if (g_saved_stdin_flags < 0) g_saved_stdin_flags = fcntl(STDIN_FILENO, F_GETFL);
  in_ = std::make_unique<boost::asio::posix::stream_descriptor>(loop.context(), fd);
  read_more();
}

void Console::stop_input() {
  std::lock_guard guard(lock_);
  deliver_ = nullptr;
  quit_ = nullptr;
}

void Console::input_space_available() {
  if (loop_) loop_->post([this] { push_pending(); });
}

void Console::read_more() {
  if (reading_ || !in_) return;
  reading_ = true;
  in_->async_read_some(boost::asio::buffer(read_buf_),
                       [this](const boost::system::error_code& ec, size_t n) {
                         reading_ = false;
                         if (ec) return;  // EOF or error: no more input, output goes on
                         handle_input({read_buf_.data(), n});
                         push_pending();
                       });
}

void Console::handle_input(std::span<const uint8_t> bytes) {
  std::function<void()> quit;
  {
    std::lock_guard guard(lock_);
    for (uint8_t b : bytes) {
      if (raw_mode_ && escape_pending_) {
        escape_pending_ = false;
        if (b == 'x' || b == 'X') {
          quit = quit_;
          break;
        }
        if (b == kEscapeKey) pending_.push_back(b);
        continue;  // other keys after Ctrl-A are swallowed
      }
      if (raw_mode_ && b == kEscapeKey) {
        escape_pending_ = true;
        continue;
      }
      pending_.push_back(b);
    }
  }
  if (quit) quit();
}

void Console::push_pending() {
  bool want_more;
  {
    std::lock_guard guard(lock_);
    while (deliver_ && !pending_.empty()) {
      uint8_t chunk[64];
      size_t n = 0;
      for (auto it = pending_.begin(); it != pending_.end() && n < sizeof(chunk); ++it)
        chunk[n++] = *it;
      size_t taken = deliver_({chunk, n});
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(taken));
      if (taken < n) break;
    }
    want_more = pending_.size() < kMaxPendingInput;
  }
  if (want_more) read_more();
}

}  // namespace kagami
