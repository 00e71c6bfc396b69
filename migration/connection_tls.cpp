// A Connection's TLS layer: the handshake and every read and write as one asynchronous
// operation of Boost.Asio SSL, run on the calling thread under the connection's timeout (a
// posted close() ends it at once, as for plain sockets).
#include <boost/asio/ssl/error.hpp>

#include "io_wait.hpp"
#include "tls.hpp"
#include "tls_stream.hpp"

namespace kagami {
namespace asio = boost::asio;

// `start` begins one operation with a completion handler (error, bytes moved); this runs it to
// its end, or cancels it when the timeout passes or the connection was closed.
template <class Start>
size_t Connection::run_tls(const Start& start, const char* what) {
  if (!stream_.is_open()) throw ConnectionError("connection to " + peer_ + " closed");
  boost::system::error_code result;
  size_t moved = 0;
  bool done = false;
  start([&result, &moved, &done](boost::system::error_code ec, size_t n) {
    result = ec;
    moved = n;
    done = true;
  });
  if (!run_until_done(io_, done, timeout_)) {
    boost::system::error_code ignored;
    stream_.cancel(ignored);
    drain(io_, done);
    throw ConnectionError(std::string("timed out: ") + what + " " + peer_ + " (nothing for " +
                          std::to_string(timeout_.count()) + " ms)");
  }
  if (result == asio::error::operation_aborted || !stream_.is_open())
    throw ConnectionError("connection to " + peer_ + " closed");
  if (result == asio::error::eof || result == asio::ssl::error::stream_truncated)
    throw ConnectionError("connection closed by " + peer_ +
                          (SSL_is_init_finished(tls_->stream.native_handle())
                               ? ""
                               : " in the TLS handshake (does it speak TLS, and accept us?)"));
  if (result)
    throw ConnectionError(std::string(what) + " " + peer_ +
                          " failed: " + tls_failure(result, tls_->stream.native_handle()));
  return moved;
}

void Connection::start_tls_client(TlsCredentials& credentials, const std::string& host) {
  handshake(credentials, &host);
}

void Connection::start_tls_server(TlsCredentials& credentials) {
  handshake(credentials, nullptr);
}

void Connection::handshake(TlsCredentials& credentials, const std::string* server_host) {
  if (is_unix_) throw ConnectionError("no TLS on the Unix socket " + peer_);
  if (tls_) throw ConnectionError("TLS is already on with " + peer_);
  auto tls = std::make_unique<Tls>(stream_, credentials.context());
  SSL* ssl = tls->stream.native_handle();
  try {
    if (server_host)
      tls_check_server(ssl, *server_host);
    else
      tls_check_client(ssl);
  } catch (const std::exception& e) {
    throw ConnectionError(e.what());
  }
  tls_ = std::move(tls);
  auto type = server_host ? asio::ssl::stream_base::client : asio::ssl::stream_base::server;
  try {
    // One deadline for the whole handshake: a peer dribbling bytes cannot stretch it.
    run_tls(
        [&](auto done) {
          tls_->stream.async_handshake(type, [done](boost::system::error_code ec) { done(ec, 0); });
        },
        "the TLS handshake with");
  } catch (...) {
    tls_.reset();  // nothing more goes over this connection, in TLS or not
    close();
    throw;
  }
}

void Connection::tls_write(std::span<const uint8_t> bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    written += run_tls(
        [&](auto done) {
          tls_->stream.async_write_some(
              asio::buffer(bytes.data() + written, bytes.size() - written), done);
        },
        "TLS: writing to");
  }
}

size_t Connection::tls_read_some(std::span<uint8_t> out) {
  return run_tls(
      [&](auto done) { tls_->stream.async_read_some(asio::buffer(out.data(), out.size()), done); },
      "TLS: reading from");
}

}  // namespace kagami
