// Command-line parsing for the `kagami` launcher.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/console.hpp"

namespace kagami {

// A mistake in the command line; the message is shown as "kagami: <message>".
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// xAPIC IDs are 8 bits and 0xff is the broadcast ID.
inline constexpr unsigned kMaxCpus = 255;

struct RunOptions {
  std::string kernel;
  std::vector<std::string> initrds;
  std::string cmdline;
  uint64_t memory = 512ull << 20;
  unsigned cpus = 1;
  SerialConfig serial;
  std::string hypervisor;
  bool testdev = false;
  bool verbose = false;
  bool no_reboot = false;
  std::string api_socket;      // the control socket to create, or ""
  std::string migration_key;   // the pre-shared key's file, or ""
  std::string incoming;        // "" or where to wait for the guest: tcp:ADDR:PORT, unix:PATH
  bool shared_memory = false;  // guest RAM in a memfd, as local migration needs
  // TLS for tcp: migrations, both ways (PEM files; all three or none).
  std::string tls_cert;  // our certificate chain
  std::string tls_key;   // its private key
  std::string tls_ca;    // the CAs a peer's certificate must chain to
};

// `kagami migrate`: what the source's VMM is asked to do through its control socket.
struct MigrateOptions {
  std::string api_socket;
  std::string to;  // tcp:HOST:PORT or unix:PATH
  bool local = false;
  uint64_t downtime_ms = 300;
  uint64_t bandwidth_mib = 0;  // MiB/s, 0: unlimited
  uint64_t time_limit_s = 0;   // 0: none
  bool auto_converge = true;
  uint64_t settle_passes = 8;  // MigrationOptions::max_settle_passes; 0: stop at the first fit
};

// `kagami api`: one raw request.
struct ApiOptions {
  std::string api_socket;
  std::string request;
};

enum class Command { kRun, kHelp, kVersion, kMigrate, kApi, kStateDump };

struct Options {
  Command command = Command::kHelp;
  std::string help_topic;  // "", "run", "migrate", "api" or "state"
  RunOptions run;
  MigrateOptions migrate;
  ApiOptions api;
  std::string state_file;  // kStateDump
};

// Throws UsageError for anything it cannot make sense of.
Options parse_options(const std::vector<std::string>& args);

// "512M", "4G", "1T", "65536K", or a plain number of MiB (as QEMU's -m).
uint64_t parse_size(const std::string& text);

// Checks the form of a migration endpoint, "tcp:HOST:PORT" or "unix:PATH" (MigrationEndpoint
// parses it for real when it is used); throws UsageError naming `option`.
void check_endpoint(const std::string& option, const std::string& text);

// cli/usage.cpp: the help texts; help_text("") is the overview.
std::string usage_text();
std::string help_text(const std::string& topic);

}  // namespace kagami
