// The launcher's help texts: the overview and one per command.
#include "cli/options.hpp"

namespace kagami {
namespace {

const char kRunUsage[] = R"(Usage: kagami run --kernel FILE [OPTIONS]

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

Control and live migration (docs/api.md, docs/migration.md):
  --api-socket PATH    serve the control socket at PATH (mode 0600; refused if
                       a running kagami owns it, a stale one is replaced)
  --migration-key FILE the pre-shared key (16 to 4096 bytes, readable by its
                       owner only) that authenticates migrations: the source
                       proves it, the destination checks it
  --incoming tcp:ADDR:PORT|unix:PATH
                       do not boot: wait there for the guest of a migration,
                       then run it. Start it with the source's options. tcp
                       needs --migration-key or the --tls-* options (with
                       both, both are checked); Ctrl-C stops waiting
  --shared-memory      guest RAM in a memfd, so that a local migration
                       (kagami migrate --local) can hand it over uncopied
  --tls-cert FILE      TLS 1.3 for tcp: migrations, both ways (unix: ones stay
  --tls-key FILE       local): this VMM's certificate chain and private key, and
  --tls-ca FILE        the CAs a peer's certificate must chain to (PEM; all
                       three or none). A destination requires a client
                       certificate; a source checks the destination's
                       certificate names the HOST of --to tcp:HOST:PORT

Exit status: the guest's debug-exit port (0xf4) value V gives (V << 1) | 1, as
QEMU's isa-debug-exit; otherwise 0 when the guest stopped in order (or on
SIGINT/SIGTERM, or after it migrated away: "kagami: migrated to ..."), 2 for a
usage or setup error, 4 when the guest crashed (triple fault, failed VM entry,
internal hypervisor error; registers are printed), 6 for an internal error of
kagami.
)";

const char kMigrateUsage[] =
    R"(Usage: kagami migrate --api-socket PATH --to tcp:HOST:PORT|unix:PATH [OPTIONS]

Live-migrates the guest of the kagami whose control socket is PATH to a kagami
waiting with --incoming at the destination, showing progress, and waits until
it is over. The guest runs on throughout; only when the destination confirms
does the source stop (and exit 0). Any failure leaves it running as before.

Options:
  --api-socket PATH    the source's control socket (required)
  --to tcp:HOST:PORT|unix:PATH
                       the destination (required); HOST a name, IPv4 or [IPv6].
                       tcp needs the source started with --migration-key
                       or --tls-cert/--tls-key/--tls-ca (then TLS is used)
  --local              unix: only: hand guest RAM over as its memfd (no copy;
                       the source needs --shared-memory), to replace the VMM
                       on this host with a new build
  --downtime-ms N      stop the guest for the final copy once the rest fits
                       in N ms (1 to 600000, default 300)
  --bandwidth MiB/s    send at most this fast (1 to 1048576; default: no limit)
  --time-limit SECONDS give up after this long (the guest keeps running on the
                       source; default: no limit)
  --no-auto-converge   do not slow the vCPUs down when the guest dirties memory
                       faster than the link carries it
  --settle-passes N    once the rest fits the downtime limit, up to N more
                       passes while each halves the rest, for a shorter pause
                       (0 to 64, default 8; 0 stops at the first fit, as QEMU)
  -h, --help           show this help

Ctrl-C cancels the migration. Exit status: 0 when the guest runs on the
destination, 1 when the migration failed or was cancelled, 2 for a usage error
or an unreachable control socket.
)";

const char kApiUsage[] = R"(Usage: kagami api --api-socket PATH 'JSON'

Sends one request to the control socket at PATH and prints the reply, one line
of JSON each. For scripts and tests; docs/api.md lists the requests, e.g.

  kagami api --api-socket /run/vm0.sock '{"command":"status"}'

Exit status: 0 when the reply says "ok":true, 1 when it says false, 2 for a
usage error or an unreachable control socket.
)";

const char kStateUsage[] = R"(Usage: kagami state dump FILE

Prints a machine state file (written by the control socket's save-state
request, the blob live migration sends) as text: one node per device, one
property per field. Exit status: 0, or 2 when FILE is unreadable or malformed.
)";

}  // namespace

std::string usage_text() {
  return R"(Usage: kagami COMMAND [OPTIONS]

kagami runs virtual machines on /dev/kagami (the kagami.ko kernel module) or,
when that is not loaded, on Linux's /dev/kvm: both speak the KVM API.

Commands:
  run        boot a guest kernel and run it until it stops (or receive one
             from a live migration with --incoming)
  migrate    live-migrate a running guest to another kagami, with progress
  api        send one request to a running kagami's control socket
  state dump print a machine state file as text
  help [COMMAND]
             show this help, or a command's
  version    show the version (also --version)

Run 'kagami COMMAND --help' (or 'kagami help COMMAND') for a command's options.
)";
}

std::string help_text(const std::string& topic) {
  if (topic == "run") return kRunUsage;
  if (topic == "migrate") return kMigrateUsage;
  if (topic == "api") return kApiUsage;
  if (topic == "state") return kStateUsage;
  return usage_text();
}

}  // namespace kagami
