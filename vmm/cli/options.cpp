// Command-line parsing for the `kagami` launcher.
#include "cli/options.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace kagami {
namespace {

constexpr size_t kMaxRequestBytes = 64 * 1024;  // the control socket's line limit

bool all_digits(const std::string& text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

unsigned parse_count(const std::string& option, const std::string& text) {
  if (text.size() > 6 || !all_digits(text))
    throw UsageError(option + ": '" + text + "' is not a number");
  return static_cast<unsigned>(std::stoul(text));
}

uint64_t parse_number(const std::string& option, const std::string& text, uint64_t min,
                      uint64_t max) {
  if (text.size() > 12 || !all_digits(text) || std::stoull(text) < min || std::stoull(text) > max)
    throw UsageError(option + ": '" + text + "' is not a whole number from " + std::to_string(min) +
                     " to " + std::to_string(max));
  return std::stoull(text);
}

SerialConfig parse_serial(const std::string& text) {
  SerialConfig s;
  if (text == "stdio") {
    s.kind = SerialConfig::Kind::kStdio;
  } else if (text == "none") {
    s.kind = SerialConfig::Kind::kNone;
  } else if (text.rfind("file:", 0) == 0 && text.size() > 5) {
    s.kind = SerialConfig::Kind::kFile;
    s.path = text.substr(5);
  } else {
    throw UsageError("--serial: '" + text + "' is not one of stdio, file:PATH, none");
  }
  return s;
}

// Walks a command's arguments: "--name value", "--name=value" and flags.
class Args {
 public:
  Args(const std::vector<std::string>& args, size_t first, std::string command)
      : args_(args), next_(first), command_(std::move(command)) {}

  bool next() {
    if (next_ >= args_.size()) return false;
    current_ = next_++;
    name_ = args_[current_];
    inline_.reset();
    size_t eq = name_.find('=');
    if (name_.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_ = name_.substr(eq + 1);
      name_ = name_.substr(0, eq);
    }
    return true;
  }
  const std::string& name() const { return name_; }
  bool is_flag(const char* option) const { return name_ == option && !inline_; }
  bool is_option() const { return name_.rfind("-", 0) == 0 && name_.size() > 1; }

  std::string value() {
    if (inline_) return *inline_;
    if (next_ >= args_.size()) throw UsageError(name_ + " needs a value");
    return args_[next_++];
  }
  std::string non_empty_value() {
    std::string v = value();
    if (v.empty()) throw UsageError(name_ + " needs a non-empty value");
    return v;
  }

  [[noreturn]] void unknown() const {
    throw UsageError(command_ + ": unknown option '" + args_[current_] + "' (see kagami " +
                     command_ + " --help)");
  }

 private:
  const std::vector<std::string>& args_;
  size_t next_;
  size_t current_ = 0;
  std::string command_;
  std::string name_;
  std::optional<std::string> inline_;
};

bool is_help(const Args& a) {
  return a.is_flag("--help") || a.is_flag("-h");
}

// The options new with migration; false when `a` is none of them.
bool parse_run_migration(Args& a, RunOptions& run) {
  if (a.name() == "--api-socket") {
    run.api_socket = a.non_empty_value();
  } else if (a.name() == "--migration-key") {
    run.migration_key = a.non_empty_value();
  } else if (a.name() == "--incoming") {
    run.incoming = a.value();
    check_endpoint("--incoming", run.incoming);
  } else if (a.is_flag("--shared-memory")) {
    run.shared_memory = true;
  } else if (a.name() == "--tls-cert") {
    run.tls_cert = a.non_empty_value();
  } else if (a.name() == "--tls-key") {
    run.tls_key = a.non_empty_value();
  } else if (a.name() == "--tls-ca") {
    run.tls_ca = a.non_empty_value();
  } else {
    return false;
  }
  return true;
}

// The TLS files come as a set: a certificate without the CAs to check the peer by would
// authenticate one side only.
void check_tls_options(const RunOptions& run) {
  std::string missing;
  int given = 0;
  for (auto [name, value] : {std::pair{"--tls-cert", &run.tls_cert},
                             {"--tls-key", &run.tls_key},
                             {"--tls-ca", &run.tls_ca}}) {
    if (!value->empty())
      given++;
    else
      missing += std::string(missing.empty() ? "" : ", ") + name;
  }
  if (given != 0 && given != 3)
    throw UsageError("--tls-cert, --tls-key and --tls-ca go together (missing: " + missing + ")");
}

RunOptions parse_run(Args& a, bool& help) {
  RunOptions run;
  while (a.next()) {
    const std::string& arg = a.name();
    if (is_help(a)) {
      help = true;
    } else if (arg == "--kernel") {
      run.kernel = a.value();
    } else if (arg == "--initrd") {
      run.initrds.push_back(a.value());
    } else if (arg == "--cmdline") {
      run.cmdline = a.value();
    } else if (arg == "--memory") {
      std::string text = a.value();
      try {
        run.memory = parse_size(text);
      } catch (const UsageError& e) {
        throw UsageError("--memory: " + std::string(e.what()));
      }
    } else if (arg == "--cpus") {
      run.cpus = parse_count(arg, a.value());
      if (run.cpus == 0) throw UsageError("--cpus: a VM needs at least one vCPU");
      if (run.cpus > kMaxCpus)
        throw UsageError("--cpus " + std::to_string(run.cpus) + ": at most " +
                         std::to_string(kMaxCpus) + " vCPUs (one xAPIC ID each)");
    } else if (arg == "--serial") {
      run.serial = parse_serial(a.value());
    } else if (arg == "--hypervisor") {
      run.hypervisor = a.value();
      if (run.hypervisor.empty()) throw UsageError("--hypervisor needs a device path");
    } else if (a.is_flag("--testdev")) {
      run.testdev = true;
    } else if (a.is_flag("--verbose") || a.is_flag("-v")) {
      run.verbose = true;
    } else if (a.is_flag("--no-reboot")) {
      run.no_reboot = true;
    } else if (!parse_run_migration(a, run)) {
      a.unknown();
    }
  }
  if (help) return run;
  if (run.kernel.empty()) throw UsageError("run: --kernel FILE is required");
  check_tls_options(run);
  if (run.incoming.rfind("tcp:", 0) == 0 && run.migration_key.empty() && run.tls_cert.empty())
    throw UsageError("--incoming " + run.incoming +
                     ": needs --migration-key FILE, or --tls-cert/--tls-key/--tls-ca, or both "
                     "(the listener authenticates the sender)");
  return run;
}

MigrateOptions parse_migrate(Args& a, bool& help) {
  MigrateOptions m;
  while (a.next()) {
    const std::string& arg = a.name();
    if (is_help(a)) {
      help = true;
    } else if (arg == "--api-socket") {
      m.api_socket = a.non_empty_value();
    } else if (arg == "--to") {
      m.to = a.value();
      check_endpoint("--to", m.to);
    } else if (a.is_flag("--local")) {
      m.local = true;
    } else if (arg == "--downtime-ms") {
      m.downtime_ms = parse_number(arg, a.value(), 1, 600'000);
    } else if (arg == "--bandwidth") {
      m.bandwidth_mib = parse_number(arg, a.value(), 1, 1 << 20);
    } else if (arg == "--time-limit") {
      m.time_limit_s = parse_number(arg, a.value(), 1, 7 * 24 * 3600);
    } else if (a.is_flag("--no-auto-converge")) {
      m.auto_converge = false;
    } else if (arg == "--settle-passes") {
      m.settle_passes = parse_number(arg, a.value(), 0, 64);
    } else {
      a.unknown();
    }
  }
  if (help) return m;
  if (m.api_socket.empty()) throw UsageError("migrate: --api-socket PATH is required");
  if (m.to.empty()) throw UsageError("migrate: --to tcp:HOST:PORT or unix:PATH is required");
  if (m.local && m.to.rfind("unix:", 0) != 0)
    throw UsageError("migrate: --local needs a unix:PATH destination (a process on this host)");
  return m;
}

ApiOptions parse_api(Args& a, bool& help) {
  ApiOptions api;
  bool have_request = false;
  while (a.next()) {
    if (is_help(a)) {
      help = true;
    } else if (a.name() == "--api-socket") {
      api.api_socket = a.non_empty_value();
    } else if (a.is_option()) {
      a.unknown();
    } else if (have_request) {
      throw UsageError("api: one request only (quote the JSON)");
    } else {
      api.request = a.name();
      have_request = true;
    }
  }
  if (help) return api;
  if (api.api_socket.empty()) throw UsageError("api: --api-socket PATH is required");
  if (api.request.empty()) throw UsageError("api: the request (one JSON object) is required");
  if (api.request.size() > kMaxRequestBytes)
    throw UsageError("api: the request is longer than " + std::to_string(kMaxRequestBytes) +
                     " bytes");
  if (api.request.find_first_of("\r\n") != std::string::npos)
    throw UsageError("api: the request must be one line");
  return api;
}

std::string parse_state(Args& a, bool& help) {
  std::string file;
  if (!a.next() || is_help(a)) {
    help = true;
    return file;
  }
  if (a.name() != "dump") throw UsageError("state: unknown subcommand '" + a.name() + "' (dump)");
  while (a.next()) {
    if (is_help(a)) {
      help = true;
    } else if (a.is_option() || !file.empty()) {
      a.unknown();
    } else {
      file = a.name();
    }
  }
  if (!help && file.empty()) throw UsageError("state dump: FILE is required");
  return file;
}

const std::vector<std::string> kHelpTopics = {"run", "migrate", "api", "state"};

}  // namespace

void check_endpoint(const std::string& option, const std::string& text) {
  if (text.rfind("unix:", 0) == 0 && text.size() > 5) return;
  if (text.rfind("tcp:", 0) == 0) {
    size_t colon = text.rfind(':');
    std::string port = text.substr(colon + 1);
    if (colon > 4 && all_digits(port) && port.size() <= 5 && std::stoul(port) >= 1 &&
        std::stoul(port) <= 65535)
      return;
  }
  throw UsageError(option + ": '" + text + "' is neither tcp:HOST:PORT nor unix:PATH");
}

uint64_t parse_size(const std::string& text) {
  if (text.empty()) throw UsageError("empty size");
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) digits++;
  if (digits == 0 || digits > 15)
    throw UsageError("'" + text + "' is not a size (use e.g. 512M or 4G)");
  uint64_t number = std::stoull(text.substr(0, digits));
  std::string suffix = text.substr(digits);
  // accept 512MB, 512Mi and 512MiB as 512M
  if (suffix.size() >= 2 && (suffix.back() == 'B' || suffix.back() == 'b')) suffix.pop_back();
  if (suffix.size() == 2 && suffix.back() == 'i') suffix.pop_back();
  unsigned shift;
  if (suffix.empty())
    shift = 20;  // plain numbers are MiB, as QEMU's -m
  else if (suffix == "K" || suffix == "k")
    shift = 10;
  else if (suffix == "M" || suffix == "m")
    shift = 20;
  else if (suffix == "G" || suffix == "g")
    shift = 30;
  else if (suffix == "T" || suffix == "t")
    shift = 40;
  else
    throw UsageError("'" + text + "' is not a size (use e.g. 512M or 4G)");
  if (number > (std::numeric_limits<uint64_t>::max() >> shift))
    throw UsageError("'" + text + "' is too large");
  return number << shift;
}

Options parse_options(const std::vector<std::string>& args) {
  Options o;
  if (args.empty()) throw UsageError("no command given (see kagami --help)");
  const std::string& first = args[0];
  bool help = false;
  Args rest(args, 1, first);
  if (first == "--help" || first == "-h" || first == "help") {
    o.command = Command::kHelp;
    if (args.size() > 1) o.help_topic = args[1];
    if (!o.help_topic.empty() &&
        std::find(kHelpTopics.begin(), kHelpTopics.end(), o.help_topic) == kHelpTopics.end())
      throw UsageError("help: no such command '" + o.help_topic + "'");
    return o;
  }
  if (first == "--version" || first == "-V" || first == "version") {
    o.command = Command::kVersion;
    return o;
  }
  if (first == "run") {
    o.run = parse_run(rest, help);
    o.command = Command::kRun;
  } else if (first == "migrate") {
    o.migrate = parse_migrate(rest, help);
    o.command = Command::kMigrate;
  } else if (first == "api") {
    o.api = parse_api(rest, help);
    o.command = Command::kApi;
  } else if (first == "state") {
    o.state_file = parse_state(rest, help);
    o.command = Command::kStateDump;
  } else {
    throw UsageError("unknown command '" + first + "' (see kagami --help)");
  }
  if (help) {
    o.command = Command::kHelp;
    o.help_topic = first;
  }
  return o;
}

}  // namespace kagami
