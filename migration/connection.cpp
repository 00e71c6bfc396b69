// A migration connection: non-blocking socket calls, with Boost.Asio waiting for readiness under
// a deadline, so that every operation times out and a posted close() cancels it at once.
#include "connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <cerrno>
#include <cstring>

#include "io_wait.hpp"
#include "tls_stream.hpp"

namespace kagami {
namespace asio = boost::asio;

namespace {

// Runs a connect under way until it is done or `timeout` passed; then `abandon` cancels it (its
// handler runs with an error). Throws ConnectionError for a timeout or a failed connect.
template <class Abandon>
void wait_connected(asio::io_context& io, const bool& done, const boost::system::error_code& result,
                    Connection::Timeout timeout, const MigrationEndpoint& to,
                    const Abandon& abandon) {
  if (!run_until_done(io, done, timeout)) {
    abandon();
    drain(io, done);
    throw ConnectionError("cannot connect to " + to.to_string() + ": timed out");
  }
  if (result)
    throw ConnectionError("cannot connect to " + to.to_string() + ": " + result.message());
}

std::unique_ptr<Connection> connect_tcp(asio::io_context& io, const MigrationEndpoint& to,
                                        Connection::Timeout timeout) {
  asio::ip::tcp::resolver resolver(io);
  asio::ip::tcp::socket socket(io);
  boost::system::error_code result;
  bool done = false;
  resolver.async_resolve(
      to.host, std::to_string(to.port), [&](boost::system::error_code ec, auto results) {
        if (ec) {
          result = ec;
          done = true;
          return;
        }
        asio::async_connect(socket, results, [&](boost::system::error_code ec2, const auto&) {
          result = ec2;
          done = true;
        });
      });
  wait_connected(io, done, result, timeout, to, [&] {
    resolver.cancel();
    boost::system::error_code ignored;
    socket.close(ignored);
  });
  boost::system::error_code ignored;  // Nagle only delays the small control frames
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  std::string peer = to.to_string();
  return std::make_unique<Connection>(io, socket.release(), peer, false);
}

std::unique_ptr<Connection> connect_unix(asio::io_context& io, const MigrationEndpoint& to,
                                         Connection::Timeout timeout) {
  asio::local::stream_protocol::socket socket(io);
  boost::system::error_code result;
  bool done = false;
  socket.async_connect(asio::local::stream_protocol::endpoint(to.path),
                       [&](boost::system::error_code ec) {
                         result = ec;
                         done = true;
                       });
  wait_connected(io, done, result, timeout, to, [&] {
    boost::system::error_code ignored;
    socket.close(ignored);
  });
  return std::make_unique<Connection>(io, socket.release(), to.to_string(), true);
}

}  // namespace

Connection::Connection(asio::io_context& io, int fd, std::string peer, bool is_unix)
    : io_(io), stream_(io, fd), peer_(std::move(peer)), is_unix_(is_unix) {}

Connection::~Connection() {
  for (int fd : received_fds_) ::close(fd);
}

std::unique_ptr<Connection> Connection::connect(asio::io_context& io, const MigrationEndpoint& to,
                                                Timeout timeout, TlsCredentials* tls) {
  if (to.kind == MigrationEndpoint::Kind::kUnix) return connect_unix(io, to, timeout);
  std::unique_ptr<Connection> connection = connect_tcp(io, to, timeout);
  if (tls) {
    connection->set_timeout(timeout);
    connection->start_tls_client(*tls, to.host);
  }
  return connection;
}

void Connection::close() {
  boost::system::error_code ignored;
  stream_.close(ignored);
}

void Connection::wait(asio::posix::descriptor_base::wait_type type, const char* what) {
  if (!stream_.is_open()) throw ConnectionError("connection to " + peer_ + " closed");
  boost::system::error_code result;
  bool done = false;
  stream_.async_wait(type, [&](boost::system::error_code ec) {
    result = ec;
    done = true;
  });
  if (!run_until_done(io_, done, timeout_)) {
    boost::system::error_code ignored;
    stream_.cancel(ignored);
    drain(io_, done);
    throw ConnectionError(std::string("timed out ") + what + " " + peer_ + " (nothing for " +
                          std::to_string(timeout_.count()) + " ms)");
  }
  if (result == asio::error::operation_aborted || !stream_.is_open())
    throw ConnectionError("connection to " + peer_ + " closed");
  if (result) throw ConnectionError(peer_ + ": " + result.message());
}

void Connection::write(std::span<const uint8_t> bytes, int fd) {
  if (tls_) {
    if (fd >= 0) throw ConnectionError("a descriptor cannot travel over TLS to " + peer_);
    return tls_write(bytes);
  }
  size_t done = 0;
  bool fd_pending = fd >= 0;
  while (done < bytes.size()) {
    if (!stream_.is_open()) throw ConnectionError("connection to " + peer_ + " closed");
    iovec iov{const_cast<uint8_t*>(bytes.data() + done), bytes.size() - done};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (fd_pending) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n = ::sendmsg(stream_.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      fd_pending = false;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wait(asio::posix::descriptor_base::wait_write, "writing to");
    } else if (n < 0 && errno != EINTR) {
      throw ConnectionError("writing to " + peer_ + ": " + std::strerror(errno));
    }
  }
}

size_t Connection::read_some(std::span<uint8_t> out) {
  if (tls_) return tls_read_some(out);
  for (;;) {
    if (!stream_.is_open()) throw ConnectionError("connection to " + peer_ + " closed");
    iovec iov{out.data(), out.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    if (is_unix_) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
    }
    ssize_t n = ::recvmsg(stream_.native_handle(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n > 0) {
      if (is_unix_) keep_fds(&msg);
      return static_cast<size_t>(n);
    }
    if (n == 0) throw ConnectionError("connection closed by " + peer_);
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      wait(asio::posix::descriptor_base::wait_read, "waiting for");
    else if (errno != EINTR)
      throw ConnectionError("reading from " + peer_ + ": " + std::strerror(errno));
  }
}

// The first descriptor that came with the bytes (SCM_RIGHTS) is kept until taken or closed
// with us; any other is closed at once.
void Connection::keep_fds(const void* message) {
  auto* msg = static_cast<const msghdr*>(message);
  for (cmsghdr* c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(const_cast<msghdr*>(msg), c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (received_fds_.empty())
        received_fds_.push_back(fd);
      else
        ::close(fd);  // one memfd per migration: no peer makes us hoard descriptors
    }
  }
}

int Connection::take_received_fd() {
  if (received_fds_.empty()) return -1;
  int fd = received_fds_.front();
  received_fds_.erase(received_fds_.begin());
  return fd;
}

uid_t Connection::peer_uid() {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (!is_unix_ || !stream_.is_open() ||
      getsockopt(stream_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return static_cast<uid_t>(-1);
  return cred.uid;
}

}  // namespace kagami
