// The destination's listening socket (TCP, or Unix created mode 0600), accepting one
// connection at a time on the io_context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <memory>
#include <optional>

#include "connection.hpp"
#include "migration.hpp"

namespace kagami {

class Listener {
 public:
  // Binds and listens at once; throws MigrationError saying why it cannot.
  Listener(boost::asio::io_context& io, const MigrationEndpoint& at);
  ~Listener();  // removes the Unix socket's path
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // The next connection; nullptr once close() was called or the io_context stopped (cancel).
  // Throws ConnectionError for a failed accept (the listener stays usable).
  std::unique_ptr<Connection> accept();
  void close();  // on the io_context's thread
  MigrationEndpoint local_endpoint() const;

 private:
  void bind_unix(const std::string& path);

  boost::asio::io_context& io_;
  MigrationEndpoint at_;
  std::optional<boost::asio::ip::tcp::acceptor> tcp_;
  std::optional<boost::asio::local::stream_protocol::acceptor> unix_;
};

}  // namespace kagami
