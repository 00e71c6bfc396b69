// One migration connection (TCP or Unix, TCP optionally in TLS), driven from the migration's own
// thread with a timeout on every read and write, and closable from any thread through the
// io_context.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "migration.hpp"

namespace kagami {

class TlsCredentials;

// The connection failed: closed, timed out, reset, cancelled. The message is for the user.
class ConnectionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Connection {
 public:
  using Timeout = std::chrono::milliseconds;

  // Takes ownership of a connected socket `fd`.
  Connection(boost::asio::io_context& io, int fd, std::string peer, bool is_unix);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Resolves and connects within `timeout`; throws ConnectionError. With `tls` (TCP only; a
  // Unix socket ignores it), also completes the TLS handshake as the client within `timeout`.
  static std::unique_ptr<Connection> connect(boost::asio::io_context& io,
                                             const MigrationEndpoint& to, Timeout timeout,
                                             TlsCredentials* tls = nullptr);

  // The TLS handshake, within one timeout, before anything else is read or written; throws
  // ConnectionError saying why the peer or its certificate was refused. From then on every
  // read and write goes through TLS. The client checks that the server's certificate names
  // `host`; the server requires a client certificate.
  void start_tls_client(TlsCredentials& credentials, const std::string& host);
  void start_tls_server(TlsCredentials& credentials);
  bool is_tls() const { return tls_ != nullptr; }

  void set_timeout(Timeout timeout) { timeout_ = timeout; }
  // All of `bytes`, or throws. With `fd` >= 0 (Unix only), the fd travels with the bytes.
  void write(std::span<const uint8_t> bytes, int fd = -1);
  // At least one byte, or throws (end of stream, timeout, error).
  size_t read_some(std::span<uint8_t> out);
  // A descriptor that arrived with the bytes read so far (SCM_RIGHTS), or -1. The caller owns it.
  int take_received_fd();

  // Closes the socket; pending and later operations fail. Call on the io_context's thread
  // (cancel from elsewhere by posting it).
  void close();

  const std::string& peer() const { return peer_; }
  bool is_unix() const { return is_unix_; }
  // The peer's uid (SO_PEERCRED); only for Unix sockets, -1 when unknown.
  uid_t peer_uid();

 private:
  void wait(boost::asio::posix::descriptor_base::wait_type type, const char* what);
  void keep_fds(const void* message);  // a msghdr
  struct Tls;
  void handshake(TlsCredentials& credentials, const std::string* server_host);
  void tls_write(std::span<const uint8_t> bytes);
  size_t tls_read_some(std::span<uint8_t> out);
  template <class Start>
  size_t run_tls(const Start& start, const char* what);

  boost::asio::io_context& io_;
  boost::asio::posix::stream_descriptor stream_;
  std::string peer_;
  bool is_unix_;
  Timeout timeout_{30000};
  std::vector<int> received_fds_;
  std::unique_ptr<Tls> tls_;  // after stream_: gone before the descriptor it wraps
};

}  // namespace kagami
