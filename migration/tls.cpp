// Loading the TLS credentials, and what each role checks of its peer's certificate.
#include "tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

#include "migration.hpp"

namespace kagami {
namespace asio = boost::asio;

namespace {

// The innermost OpenSSL reason, or asio's message.
std::string reason_of(const boost::system::system_error& e) {
  unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    if (reason) return reason;
  }
  return e.code().message();
}

void check_contains_certificate(asio::ssl::context& context, const std::string& ca) {
  X509_STORE* store = SSL_CTX_get_cert_store(context.native_handle());
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
  for (int i = 0; i < sk_X509_OBJECT_num(objects); i++)
    if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objects, i)) == X509_LU_X509) return;
  throw MigrationError("TLS CA bundle " + ca + ": holds no certificate");
}

}  // namespace

TlsCredentials::TlsCredentials() : context_(asio::ssl::context::tls) {}

std::shared_ptr<TlsCredentials> TlsCredentials::load(const TlsFiles& files) {
  std::shared_ptr<TlsCredentials> credentials(new TlsCredentials());
  asio::ssl::context& context = credentials->context_;
  // TLS 1.3 only: both ends are kagami, so nothing older need be spoken; no renegotiation,
  // no static-RSA or CBC suites, forward secrecy always.
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_3_VERSION);
  context.set_options(asio::ssl::context::no_compression);
  // No resumption: every connection is a full handshake with both certificates checked.
  SSL_CTX_set_num_tickets(context.native_handle(), 0);
  SSL_CTX_set_session_cache_mode(context.native_handle(), SSL_SESS_CACHE_OFF);
  auto step = [](const char* what, const std::string& file, const auto& load_it) {
    try {
      load_it();
    } catch (const boost::system::system_error& e) {
      throw MigrationError(std::string("TLS ") + what + " " + file + ": " + reason_of(e));
    }
  };
  step("certificate", files.cert, [&] { context.use_certificate_chain_file(files.cert); });
  // OpenSSL checks the key against the certificate ("key values mismatch").
  step("private key", files.key,
       [&] { context.use_private_key_file(files.key, asio::ssl::context::pem); });
  step("CA bundle", files.ca, [&] { context.load_verify_file(files.ca); });
  check_contains_certificate(context, files.ca);
  return credentials;
}

void tls_check_server(SSL* ssl, const std::string& host) {
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  boost::system::error_code not_ip;
  asio::ip::make_address(host, not_ip);
  if (!not_ip) {  // an address: it must be among the certificate's IP subjectAltNames
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1)
      throw MigrationError("cannot check the TLS peer's address " + host);
    return;
  }
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) != 1)
    throw MigrationError("cannot check the TLS peer's name " + host);
  SSL_set_tlsext_host_name(ssl, host.c_str());  // SNI, for a destination behind a proxy
}

void tls_check_client(SSL* ssl) {
  SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
}

std::string tls_failure(const boost::system::error_code& error, SSL* ssl) {
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK)
    return std::string("certificate refused: ") + X509_verify_cert_error_string(verify);
  unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code != 0 && ERR_reason_error_string(code)) return ERR_reason_error_string(code);
  return error.message();
}

}  // namespace kagami
