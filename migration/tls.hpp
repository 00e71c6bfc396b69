// TLS credentials of one VMM for its TCP migrations (Boost.Asio SSL over OpenSSL): its own
// certificate chain and key, and the CA bundle that every peer's certificate must chain to.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

namespace kagami {

// The three PEM files of `kagami run --tls-cert/--tls-key/--tls-ca`.
struct TlsFiles {
  std::string cert;  // our certificate chain, leaf first
  std::string key;   // its private key
  std::string ca;    // the CAs a peer's certificate must chain to
};

// One set of credentials serves both roles: a source is the TLS client (it checks the
// destination's certificate and its name), a destination the TLS server (it requires a client
// certificate from the same CAs). TLS 1.3 only. Shared by the migrations of a VMM; OpenSSL's
// contexts may be used from several threads once loaded.
class TlsCredentials {
 public:
  // Loads and checks the files (the key matches the certificate, the CA bundle holds at least
  // one certificate); throws MigrationError naming the file and the reason.
  static std::shared_ptr<TlsCredentials> load(const TlsFiles& files);

  boost::asio::ssl::context& context() { return context_; }

 private:
  TlsCredentials();
  boost::asio::ssl::context context_;
};

// Before the handshake, on one connection's SSL object:
// the source checks the destination's certificate and that it names `host` (a DNS name, or
// an IP address among its IP subjectAltNames), as in the --to endpoint;
void tls_check_server(SSL* ssl, const std::string& host);
// the destination requires a certificate of the client (any name: the CA vouches for it).
void tls_check_client(SSL* ssl);

// Why a handshake or a TLS read failed, for the user: the certificate check's verdict when it
// failed, else OpenSSL's reason.
std::string tls_failure(const boost::system::error_code& error, SSL* ssl);

}  // namespace kagami
