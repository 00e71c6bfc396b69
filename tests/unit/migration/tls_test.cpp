// Migration over TLS: a full migration with and without the key, what an eavesdropper sees,
// and every peer the handshake must refuse (other CA, wrong name, expired, no certificate,
// plaintext) with the destination listening on and the source running on.
#include "tls.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <cstring>

#include "harness.hpp"
#include "recording_proxy.hpp"
#include "test_pki.hpp"

namespace kagami::test {
namespace {

using State = MigrationStatus::State;

// The certificates of every test: one trusted CA, one other.
struct Pki {
  TempDir dir;
  TestCa ca{dir.path(), "good"};
  TestCa other{dir.path(), "other"};
  TlsFiles server = ca.leaf("server", "IP:127.0.0.1,DNS:localhost", ca.ca_file());
  TlsFiles client = ca.leaf("client", "DNS:source.example", ca.ca_file());
};

Pki& pki() {
  static Pki instance;
  return instance;
}

std::shared_ptr<TlsCredentials> load(const TlsFiles& files) {
  return TlsCredentials::load(files);
}

// The harness's Destination, with TLS credentials.
class TlsDestination {
 public:
  explicit TlsDestination(std::shared_ptr<TlsCredentials> tls, std::vector<uint8_t> key = {})
      : vm(4 << 20),
        incoming(vm, MigrationEndpoint::parse("tcp:127.0.0.1:0"), std::move(key), std::move(tls)) {
    incoming.set_io_timeout_ms(400);
    thread_ = std::thread([this] { result = incoming.run() ? 1 : 0; });
  }
  ~TlsDestination() {
    incoming.cancel();
    thread_.join();
  }
  std::string wait_failure() {
    bool failed = eventually([&] { return incoming.status().state == State::kFailed; });
    return failed ? incoming.status().error : "(no failure seen)";
  }
  MigrationEndpoint endpoint() const { return incoming.local_endpoint(); }
  uint16_t port() const { return endpoint().port; }

  FakeDestination vm;
  IncomingMigration incoming;
  std::atomic<int> result{-1};

 private:
  std::thread thread_;
};

MigrationOptions tls_options(const MigrationEndpoint& to, const TlsFiles& files,
                             std::vector<uint8_t> key = {}) {
  MigrationOptions o = options_to(to);
  o.key = std::move(key);
  o.tls = load(files);
  return o;
}

MigrationEndpoint at(const std::string& host, uint16_t port) {
  return MigrationEndpoint::parse("tcp:" + host + ":" + std::to_string(port));
}

void expect_migrated(FakeSource& source, TlsDestination& destination, const MigrationStatus& s) {
  ASSERT_EQ(s.state, State::kCompleted) << s.error;
  ASSERT_TRUE(eventually([&] { return destination.result == 1; }));
  EXPECT_EQ(std::memcmp(source.memory().host_base(), destination.vm.memory().host_base(),
                        source.memory().size()),
            0);
  EXPECT_EQ(destination.vm.state, source.state);
}

// A refused source: failed, left as it was; the destination said why and listens on, and a
// good source then migrates.
void expect_refused(const MigrationStatus& s, FakeSource& source, TlsDestination& destination,
                    const std::string& destination_says, std::vector<uint8_t> key = {}) {
  EXPECT_EQ(s.state, State::kFailed);
  expect_source_intact(source);
  if (!destination_says.empty()) {
    EXPECT_NE(destination.wait_failure().find(destination_says), std::string::npos)
        << destination.incoming.status().error;
  }
  EXPECT_EQ(destination.vm.discards, 0);  // nothing was read, nothing to throw away
  FakeSource good;
  good.write_page(5, 55);
  expect_migrated(good, destination,
                  migrate(good, tls_options(destination.endpoint(), pki().client, key)));
}

TEST(Tls, MigratesWithTheKeyAndTls) {
  TlsDestination destination(load(pki().server), test_key());
  FakeSource source;
  for (uint64_t p = 0; p < source.pages(); p += 5) source.write_page(p, p + 3);
  source.start_dirtying(2000, 100, 200);
  MigrationStatus s =
      migrate(source, tls_options(destination.endpoint(), pki().client, test_key()));
  source.stop_dirtying();
  expect_migrated(source, destination, s);
}

TEST(Tls, MigratesWithTlsAlone) {
  TlsDestination destination(load(pki().server));
  FakeSource source;
  source.write_page(7, 77);
  expect_migrated(source, destination,
                  migrate(source, tls_options(destination.endpoint(), pki().client)));
}

TEST(Tls, WithBothTheKeyIsStillChecked) {
  TlsDestination destination(load(pki().server), test_key());
  FakeSource source;
  MigrationStatus s =
      migrate(source, tls_options(destination.endpoint(), pki().client, test_key('x')));
  EXPECT_NE(s.error.find("refused"), std::string::npos) << s.error;
  expect_refused(s, source, destination, "wrong key", test_key());
}

TEST(Tls, ChecksTheNameOfADestinationByDns) {
  TlsDestination destination(load(pki().server));
  FakeSource source;
  expect_migrated(source, destination,
                  migrate(source, tls_options(at("localhost", destination.port()), pki().client)));
}

// A page pattern of the guest crosses an eavesdropping proxy: in clear without TLS (so the
// check can see it), never with TLS.
bool proxy_sees_pattern(bool tls) {
  static const char kPattern[] = "kagami guest secret, page 9";
  FakeSource source;
  for (size_t off = 0; off + sizeof(kPattern) < 4096; off += sizeof(kPattern))
    std::memcpy(source.memory().host_base() + 9 * 4096 + off, kPattern, sizeof(kPattern));
  std::unique_ptr<TlsDestination> tls_destination;
  std::unique_ptr<Destination> plain_destination;
  uint16_t port;
  if (tls) {
    tls_destination = std::make_unique<TlsDestination>(load(pki().server));
    port = tls_destination->port();
  } else {
    plain_destination = std::make_unique<Destination>();
    plain_destination->start();
    port = plain_destination->endpoint().port;
  }
  RecordingProxy proxy(port);
  MigrationOptions o =
      tls ? tls_options(proxy.endpoint(), pki().client) : options_to(proxy.endpoint());
  MigrationStatus s = migrate(source, o);
  EXPECT_EQ(s.state, State::kCompleted) << s.error;
  std::vector<uint8_t> seen = proxy.seen();
  EXPECT_GT(seen.size(), 4096u);  // page 9 went through (the others are zero: markers)
  const uint8_t* pattern = reinterpret_cast<const uint8_t*>(kPattern);
  return std::search(seen.begin(), seen.end(), pattern, pattern + sizeof(kPattern) - 1) !=
         seen.end();
}

TEST(Tls, AnEavesdropperSeesTheGuestRamOnlyWithoutTls) {
  EXPECT_TRUE(proxy_sees_pattern(false));
  EXPECT_FALSE(proxy_sees_pattern(true));
}

TEST(Tls, ASourceFromAnotherCaIsRefused) {
  TlsDestination destination(load(pki().server));
  FakeSource source;
  TlsFiles intruder = pki().other.leaf("intruder", "DNS:x.example", pki().ca.ca_file());
  expect_refused(migrate(source, tls_options(destination.endpoint(), intruder)), source,
                 destination, "certificate");
}

TEST(Tls, ADestinationFromAnotherCaIsRefused) {
  TlsFiles impostor = pki().other.leaf("impostor", "IP:127.0.0.1", pki().other.ca_file());
  TlsDestination destination(load(impostor));
  FakeSource source;
  MigrationStatus s = migrate(source, tls_options(destination.endpoint(), pki().client));
  EXPECT_EQ(s.state, State::kFailed);
  EXPECT_NE(s.error.find("certificate refused"), std::string::npos) << s.error;
  expect_source_intact(source);
}

TEST(Tls, ADestinationNamedOtherwiseIsRefused) {
  TlsFiles elsewhere =
      pki().ca.leaf("elsewhere", "IP:10.9.9.9,DNS:elsewhere.example", pki().ca.ca_file());
  TlsDestination destination(load(elsewhere));
  for (const char* host : {"127.0.0.1", "localhost"}) {
    FakeSource source;
    MigrationStatus s = migrate(source, tls_options(at(host, destination.port()), pki().client));
    EXPECT_EQ(s.state, State::kFailed) << host;
    EXPECT_NE(s.error.find("mismatch"), std::string::npos) << s.error;
    expect_source_intact(source);
  }
}

TEST(Tls, AnExpiredSourceCertificateIsRefused) {
  TlsDestination destination(load(pki().server));
  FakeSource source;
  TlsFiles expired = pki().ca.leaf("expired-client", "", pki().ca.ca_file(), -30, -1);
  expect_refused(migrate(source, tls_options(destination.endpoint(), expired)), source, destination,
                 "expired");
}

TEST(Tls, AnExpiredDestinationCertificateIsRefused) {
  TlsFiles expired = pki().ca.leaf("expired-server", "IP:127.0.0.1", pki().ca.ca_file(), -30, -1);
  TlsDestination destination(load(expired));
  FakeSource source;
  MigrationStatus s = migrate(source, tls_options(destination.endpoint(), pki().client));
  EXPECT_EQ(s.state, State::kFailed);
  EXPECT_NE(s.error.find("expired"), std::string::npos) << s.error;
  expect_source_intact(source);
}

TEST(Tls, APlaintextSourceIsRefusedAndTheListenerTakesTheNext) {
  TlsDestination destination(load(pki().server), test_key());
  FakeSource source;
  MigrationStatus s = migrate(source, options_to(destination.endpoint()));  // key, no TLS
  expect_refused(s, source, destination, "TLS handshake", test_key());
}

TEST(Tls, ATlsSourceFailsCleanlyAgainstAPlaintextDestination) {
  Destination destination;
  destination.start();
  FakeSource source;
  MigrationStatus s =
      migrate(source, tls_options(destination.endpoint(), pki().client, test_key()));
  EXPECT_EQ(s.state, State::kFailed);
  EXPECT_NE(s.error.find("TLS"), std::string::npos) << s.error;
  expect_source_intact(source);
  EXPECT_EQ(destination.vm.discards, 0);
}

// A TLS client without a certificate: the handshake may look done to it (TLS 1.3), but the
// destination refuses it before the protocol starts.
TEST(Tls, ASourceWithoutACertificateIsRefused) {
  TlsDestination destination(load(pki().server));
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.load_verify_file(pki().ca.ca_file());
  asio::ssl::stream<asio::ip::tcp::socket> client(io, context);
  client.set_verify_mode(asio::ssl::verify_peer);
  asio::ip::tcp::endpoint to(asio::ip::make_address("127.0.0.1"), destination.port());
  client.next_layer().connect(to);
  boost::system::error_code ec;
  client.handshake(asio::ssl::stream_base::client, ec);
  uint8_t byte;
  if (!ec) client.read_some(asio::buffer(&byte, 1), ec);  // the challenge never comes
  EXPECT_TRUE(ec);
  EXPECT_NE(destination.wait_failure().find("certificate"), std::string::npos)
      << destination.incoming.status().error;
  FakeSource good;
  expect_migrated(good, destination,
                  migrate(good, tls_options(destination.endpoint(), pki().client)));
}

TEST(Tls, CredentialsThatDoNotLoadSayWhy) {
  const TlsFiles& c = pki().client;
  auto error_of = [](const TlsFiles& files) -> std::string {
    try {
      TlsCredentials::load(files);
    } catch (const MigrationError& e) {
      return e.what();
    }
    return "(loaded)";
  };
  EXPECT_NE(error_of({"/nonexistent.crt", c.key, c.ca}).find("/nonexistent.crt"),
            std::string::npos);
  std::string mismatch = error_of({c.cert, pki().server.key, c.ca});
  EXPECT_NE(mismatch.find("key values mismatch"), std::string::npos) << mismatch;
  EXPECT_NE(error_of({c.cert, c.key, c.key}).find("CA bundle"), std::string::npos);
  EXPECT_EQ(error_of(c), "(loaded)");
}

TEST(Tls, KeyOrTlsIsRequiredOverTcp) {
  FakeDestination vm(4 << 20);
  auto tcp = MigrationEndpoint::parse("tcp:127.0.0.1:0");
  EXPECT_THROW(IncomingMigration(vm, tcp, {}), MigrationError);
  EXPECT_NO_THROW(IncomingMigration(vm, tcp, {}, load(pki().server)));
  FakeSource source;
  MigrationOptions o =
      tls_options(MigrationEndpoint::parse("unix:/tmp/nowhere.sock"), pki().client);
  EXPECT_THROW(OutgoingMigration(source, o), MigrationError);  // no TLS on Unix: the key it is
}

}  // namespace
}  // namespace kagami::test
