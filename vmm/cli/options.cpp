// Command-line parsing for the `kagami` launcher.
#include "cli/options.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace kagami {
namespace {

unsigned parse_count(const std::string& option, const std::string& text) {
  if (text.empty() || text.size() > 6 ||
      !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); }))
    throw UsageError(option + ": '" + text + "' is not a number");
  return static_cast<unsigned>(std::stoul(text));
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

RunOptions parse_run(const std::vector<std::string>& args, size_t i, bool& help) {
  RunOptions run;
  auto value = [&](const std::string& option) -> std::string {
    if (i + 1 >= args.size()) throw UsageError(option + " needs a value");
    return args[++i];
  };
  for (; i < args.size(); i++) {
    std::string arg = args[i];
    std::string inline_value;
    bool has_inline = false;
    if (arg.rfind("--", 0) == 0) {
      size_t eq = arg.find('=');
      if (eq != std::string::npos) {
        inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_inline = true;
      }
    }
    auto get = [&](const std::string& option) { return has_inline ? inline_value : value(option); };
    if (arg == "--help" || arg == "-h") {
      help = true;
    } else if (arg == "--kernel") {
      run.kernel = get(arg);
    } else if (arg == "--initrd") {
      run.initrds.push_back(get(arg));
    } else if (arg == "--cmdline") {
      run.cmdline = get(arg);
    } else if (arg == "--memory") {
      std::string text = get(arg);
      try {
        run.memory = parse_size(text);
      } catch (const UsageError& e) {
        throw UsageError("--memory: " + std::string(e.what()));
      }
    } else if (arg == "--cpus") {
      run.cpus = parse_count(arg, get(arg));
      if (run.cpus == 0) throw UsageError("--cpus: a VM needs at least one vCPU");
      if (run.cpus > kMaxCpus)
        throw UsageError("--cpus " + std::to_string(run.cpus) + ": at most " +
                         std::to_string(kMaxCpus) + " vCPUs (one xAPIC ID each)");
    } else if (arg == "--serial") {
      run.serial = parse_serial(get(arg));
    } else if (arg == "--hypervisor") {
      run.hypervisor = get(arg);
      if (run.hypervisor.empty()) throw UsageError("--hypervisor needs a device path");
    } else if (arg == "--testdev" && !has_inline) {
      run.testdev = true;
    } else if ((arg == "--verbose" || arg == "-v") && !has_inline) {
      run.verbose = true;
    } else if (arg == "--no-reboot" && !has_inline) {
      run.no_reboot = true;
    } else {
      throw UsageError("run: unknown option '" + args[i] + "' (see kagami run --help)");
    }
  }
  if (!help && run.kernel.empty()) throw UsageError("run: --kernel FILE is required");
  return run;
}

}  // namespace

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
  if (first == "--help" || first == "-h" || first == "help") {
    o.command = Command::kHelp;
    if (args.size() > 1) o.help_topic = args[1];
    if (!o.help_topic.empty() && o.help_topic != "run")
      throw UsageError("help: no such command '" + o.help_topic + "'");
  } else if (first == "--version" || first == "-V" || first == "version") {
    o.command = Command::kVersion;
  } else if (first == "run") {
    bool help = false;
    o.run = parse_run(args, 1, help);
    o.command = help ? Command::kHelp : Command::kRun;
    if (help) o.help_topic = "run";
  } else {
    throw UsageError("unknown command '" + first + "' (see kagami --help)");
  }
  return o;
}

std::string usage_text() {
  return R"(Usage: kagami COMMAND [OPTIONS]

kagami runs virtual machines on /dev/kagami (the kagami.ko kernel module) or,
when that is not loaded, on Linux's /dev/kvm: both speak the KVM API.

Commands:
  run        boot a guest kernel and run it until it stops
  help [COMMAND]
             show this help, or a command's
  version    show the version (also --version)

Run 'kagami run --help' for the options of run.
)";
}

std::string run_usage_text() {
  return R"(Usage: kagami run --kernel FILE [OPTIONS]

Boots FILE and runs it: a Linux bzImage (the x86 boot protocol, entered at its
64-bit entry point, with ACPI tables), or a Multiboot v1 kernel (32-bit ELF or
a.out kludge, as QEMU's -kernel accepts; 64-bit ELF loaded below 4 GiB too).

Options:
  --kernel FILE        the kernel to boot (required)
  --initrd FILE        Linux: the initramfs. Multiboot: a module (repeat for
                       more); its string is FILE
  --cmdline STR        the kernel command line
  --memory SIZE        guest RAM, e.g. 512M or 4G; plain numbers are MiB
                       (default 512M). RAM above 3 GiB is placed from 4 GiB up.
  --cpus N             number of vCPUs, 1 to 255 (default 1; more than 1 needs
                       the in-kernel local APIC, KVM_CAP_SPLIT_IRQCHIP)
  --serial stdio|file:PATH|none
                       where COM1 goes (default stdio; stdin feeds its input,
                       in raw mode on a terminal: Ctrl-A x quits)
  --hypervisor PATH    the KVM-API device (default /dev/kagami, else /dev/kvm)
  --no-reboot          exit instead of rebooting when the guest resets
  --testdev            add QEMU's pc-testdev (ports 0xe0, 0xe8, IRQ lines
                       0x2000-0x2017; MMIO 0xff000000), for test guests; with
                       interrupt controllers also kagami's test-irq device
                       (ports 0x2100-0x213f, MMIO 0xff010000: an MSI through
                       an irqfd, ioeventfd doorbells)
  -v, --verbose        report accesses to unassigned ports and MMIO
  -h, --help           show this help

Exit status: the guest's debug-exit port (0xf4) value V gives (V << 1) | 1, as
QEMU's isa-debug-exit; otherwise 0 when the guest stopped in order (or on
SIGINT/SIGTERM), 2 for a usage or setup error, 4 when the guest crashed
(triple fault, failed VM entry, internal hypervisor error; registers are printed),
6 for an internal error of kagami.
)";
}

}  // namespace kagami
