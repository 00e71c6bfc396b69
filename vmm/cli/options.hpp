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
};

enum class Command { kRun, kHelp, kVersion };

struct Options {
  Command command = Command::kHelp;
  std::string help_topic;  // "" or "run"
  RunOptions run;
};

// Throws UsageError for anything it cannot make sense of.
Options parse_options(const std::vector<std::string>& args);

// "512M", "4G", "1T", "65536K", or a plain number of MiB (as QEMU's -m).
uint64_t parse_size(const std::string& text);

std::string usage_text();
std::string run_usage_text();

}  // namespace kagami
