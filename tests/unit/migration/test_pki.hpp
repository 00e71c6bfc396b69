// Test certificates made on the spot with OpenSSL: CAs, and leaf certificates they sign with
// chosen names and validity, written as PEM files into a temporary directory.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "tls.hpp"

namespace kagami::test {

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

inline void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(extension != nullptr, "extension");
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

// A certificate for `key` named `cn`, valid from `from_days` to `to_days` (relative to now),
// issued by `issuer` (null: by itself); sign() it once its extensions are on.
inline Cert make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, long from_days,
                      long to_days) {
  static long serial = 1;
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), from_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), to_days * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  return cert;
}

inline void sign(X509* cert, EVP_PKEY* key) {
  check(X509_sign(cert, key, EVP_sha256()) > 0, "sign");
}

inline void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  check(f != nullptr, "open");
  bool ok = cert ? PEM_write_X509(f, cert) == 1
                 : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(f);
  check(ok, "write PEM");
}

// A CA; leaf() issues certificates into the directory.
class TestCa {
 public:
  TestCa(std::string dir, const std::string& name) : dir_(std::move(dir)), name_(name) {
    key_.reset(EVP_EC_gen("P-256"));
    check(key_ != nullptr, "key");
    cert_ = make_cert(key_.get(), "kagami test CA " + name, nullptr, -1, 30);
    add_extension(cert_.get(), cert_.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert_.get(), cert_.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    sign(cert_.get(), key_.get());
    write_pem(ca_file(), cert_.get(), nullptr);
  }

  std::string ca_file() const { return dir_ + "/" + name_ + "-ca.crt"; }

  // A leaf named `cn` with subjectAltNames `san` ("IP:127.0.0.1,DNS:localhost"), valid from
  // `from_days` to `to_days`; credentials trusting `trusted_ca` (a CA file).
  TlsFiles leaf(const std::string& cn, const std::string& san, const std::string& trusted_ca,
                long from_days = -1, long to_days = 30) {
    Key key(EVP_EC_gen("P-256"));
    check(key != nullptr, "key");
    Cert cert = make_cert(key.get(), cn, cert_.get(), from_days, to_days);
    add_extension(cert.get(), cert_.get(), NID_basic_constraints, "critical,CA:FALSE");
    if (!san.empty()) add_extension(cert.get(), cert_.get(), NID_subject_alt_name, san);
    sign(cert.get(), key_.get());
    std::string base = dir_ + "/" + name_ + "-" + cn;
    write_pem(base + ".crt", cert.get(), nullptr);
    write_pem(base + ".key", nullptr, key.get());
    return TlsFiles{base + ".crt", base + ".key", trusted_ca};
  }

 private:
  std::string dir_, name_;
  Key key_;
  Cert cert_;
};

// A temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/kagami-tls-test.XXXXXX";
    check(mkdtemp(name) != nullptr, "mkdtemp");
    path_ = name;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace kagami::test
