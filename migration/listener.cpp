// The destination's listening socket: bind (Unix sockets private to the owner), accept.
#include "listener.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io_wait.hpp"

namespace kagami {
namespace asio = boost::asio;

Listener::Listener(asio::io_context& io, const MigrationEndpoint& at) : io_(io), at_(at) {
  try {
    if (at.kind == MigrationEndpoint::Kind::kUnix) {
      bind_unix(at.path);
      return;
    }
    asio::ip::tcp::resolver resolver(io);
    auto endpoint = *resolver.resolve(at.host, std::to_string(at.port)).begin();
    tcp_.emplace(io, endpoint.endpoint(), /*reuse_address=*/true);
    at_.port = tcp_->local_endpoint().port();  // the one the system chose for port 0
  } catch (const boost::system::system_error& e) {
    throw MigrationError("cannot listen on " + at.to_string() + ": " + e.code().message());
  }
}

// Mode 0600 from the start: the socket inode's mode is set before bind() creates the path
// (Linux takes the path's mode from it), then again on the path, whatever the umask.
void Listener::bind_unix(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0)
    throw MigrationError("cannot listen on unix:" + path + ": the path exists (remove it first)");
  unix_.emplace(io_);
  unix_->open();
  if (fchmod(unix_->native_handle(), 0600) != 0)
    throw MigrationError("cannot listen on unix:" + path + ": fchmod: " + std::strerror(errno));
  unix_->bind(asio::local::stream_protocol::endpoint(path));
  if (chmod(path.c_str(), 0600) != 0) {
    int err = errno;
    unlink(path.c_str());
    throw MigrationError("cannot listen on unix:" + path + ": chmod: " + std::strerror(err));
  }
  unix_->listen();
}

Listener::~Listener() {
  close();
}

void Listener::close() {
  boost::system::error_code ignored;
  if (tcp_) tcp_->close(ignored);
  if (unix_ && unix_->is_open()) {
    unix_->close(ignored);
    unlink(at_.path.c_str());
  }
}

MigrationEndpoint Listener::local_endpoint() const {
  return at_;
}

std::unique_ptr<Connection> Listener::accept() {
  bool done = false;
  boost::system::error_code result;
  int fd = -1;
  std::string peer;
  if (tcp_) {
    tcp_->async_accept([&](boost::system::error_code ec, asio::ip::tcp::socket socket) {
      result = ec;
      if (!ec) {
        boost::system::error_code ignored;
        auto remote = socket.remote_endpoint(ignored);
        peer = remote.address().to_string() + ":" + std::to_string(remote.port());
        socket.set_option(asio::ip::tcp::no_delay(true), ignored);
        fd = socket.release();
      }
      done = true;
    });
  } else if (unix_ && unix_->is_open()) {
    unix_->async_accept([&](boost::system::error_code ec, asio::local::stream_protocol::socket s) {
      result = ec;
      if (!ec) fd = s.release();
      peer = "unix:" + at_.path;
      done = true;
    });
  } else {
    return nullptr;
  }
  io_.restart();
  while (!done && io_.run_one() > 0) {
  }
  if (!done) {  // stopped: cancel
    close();
    drain(io_, done);
    if (fd >= 0) ::close(fd);
    return nullptr;
  }
  if (result == asio::error::operation_aborted || result == asio::error::bad_descriptor)
    return nullptr;
  if (result) throw ConnectionError("accept on " + at_.to_string() + ": " + result.message());
  return std::make_unique<Connection>(io_, fd, peer, unix_.has_value());
}

}  // namespace kagami
