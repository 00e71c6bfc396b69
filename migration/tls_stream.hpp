// The TLS layer a Connection puts on its socket after the handshake (private to connection*.cpp).
#pragma once

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "connection.hpp"

namespace kagami {

struct Connection::Tls {
  Tls(boost::asio::posix::stream_descriptor& socket, boost::asio::ssl::context& context)
      : stream(socket, context) {}
  boost::asio::ssl::stream<boost::asio::posix::stream_descriptor&> stream;
};

}  // namespace kagami
