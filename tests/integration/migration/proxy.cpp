// migration_proxy: a hostile link for the migration tests. Forwards one TCP connection
// between a migration source and its destination, cutting it after N bytes or flipping the
// byte at offset N of the source's stream; or connects to a destination and sends garbage.
//
//   migration_proxy --listen HOST:PORT --connect HOST:PORT [--truncate-after N | --flip-at N]
//   migration_proxy --connect HOST:PORT --garbage N
//
// Offsets count the bytes the source sends (towards --connect). Prints "proxy: listening" on
// stdout once it accepts connections, and one line of what it did on stdout when done.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr size_t kBufferSize = 64 * 1024;
constexpr int kGarbageReplyTimeoutMs = 5000;
constexpr uint64_t kMaxGarbage = 64 << 20;

struct Endpoint {
  std::string host;
  uint16_t port = 0;
};

struct Options {
  std::optional<Endpoint> listen;
  Endpoint connect;
  std::optional<uint64_t> truncate_after;
  std::optional<uint64_t> flip_at;
  std::optional<uint64_t> garbage;
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "proxy: %s\n", message.c_str());
  std::exit(2);
}

[[noreturn]] void die_errno(const std::string& what) {
  die(what + ": " + std::strerror(errno));
}

uint64_t parse_number(const std::string& option, const std::string& text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    die(option + ": '" + text + "' is not a number");
  return std::stoull(text);
}

Endpoint parse_endpoint(const std::string& option, const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) die(option + ": '" + text + "' is not HOST:PORT");
  uint64_t port = parse_number(option, text.substr(colon + 1));
  if (port == 0 || port > 65535) die(option + ": port " + std::to_string(port) + " out of range");
  return {text.substr(0, colon), static_cast<uint16_t>(port)};
}

Options parse_options(int argc, char** argv) {
  Options o;
  bool have_connect = false;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (i + 1 >= argc) die(arg + " needs a value (see the usage at the top of proxy.cpp)");
    std::string value = argv[++i];
    if (arg == "--listen") {
      o.listen = parse_endpoint(arg, value);
    } else if (arg == "--connect") {
      o.connect = parse_endpoint(arg, value);
      have_connect = true;
    } else if (arg == "--truncate-after") {
      o.truncate_after = parse_number(arg, value);
    } else if (arg == "--flip-at") {
      o.flip_at = parse_number(arg, value);
    } else if (arg == "--garbage") {
      o.garbage = parse_number(arg, value);
    } else {
      die("unknown option " + arg);
    }
  }
  if (!have_connect) die("--connect HOST:PORT is required");
  if (o.garbage.has_value() == o.listen.has_value())
    die("give either --listen (forward) or --garbage (send garbage)");
  if (o.truncate_after && o.flip_at) die("--truncate-after and --flip-at exclude each other");
  if (o.garbage && *o.garbage > kMaxGarbage) die("--garbage: at most 64 MiB");
  return o;
}

sockaddr_in socket_address(const Endpoint& e) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(e.port);
  if (inet_pton(AF_INET, e.host.c_str(), &address.sin_addr) != 1)
    die("'" + e.host + "' is not an IPv4 address");
  return address;
}

int connect_to(const Endpoint& e) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die_errno("socket");
  sockaddr_in address = socket_address(e);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
    die_errno("connect to " + e.host + ":" + std::to_string(e.port));
  return fd;
}

int accept_one(const Endpoint& e) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) die_errno("socket");
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address = socket_address(e);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
    die_errno("bind " + e.host + ":" + std::to_string(e.port));
  if (listen(listener, 1) != 0) die_errno("listen");
  std::printf("proxy: listening on %s:%u\n", e.host.c_str(), e.port);
  std::fflush(stdout);
  int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) die_errno("accept");
  close(listener);
  return fd;
}

bool write_all(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// One direction of the connection: how far it got and whether it is still open.
struct Direction {
  int from, to;
  uint64_t bytes = 0;
  bool open = true;
};

// Moves what is available from d.from to d.to, applying the damage to the source's stream.
// Returns false once the proxy should stop (truncated, or an end closed).
bool pump(Direction& d, const Options& o, bool from_source, std::vector<uint8_t>& buffer) {
  size_t want = buffer.size();
  if (from_source && o.truncate_after) want = std::min<uint64_t>(want, *o.truncate_after - d.bytes);
  ssize_t n = want ? recv(d.from, buffer.data(), want, 0) : 0;
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) {
    d.open = false;
    shutdown(d.to, SHUT_WR);  // pass the end of the stream on, as a real link would
    return want != 0;
  }
  if (from_source && o.flip_at && *o.flip_at >= d.bytes && *o.flip_at < d.bytes + n) {
    buffer[*o.flip_at - d.bytes] ^= 0x5a;
    std::printf("proxy: flipped the byte at offset %lu\n", static_cast<unsigned long>(*o.flip_at));
    std::fflush(stdout);
  }
  d.bytes += static_cast<uint64_t>(n);
  if (!write_all(d.to, buffer.data(), static_cast<size_t>(n))) return false;
  return !(from_source && o.truncate_after && d.bytes >= *o.truncate_after);
}

int forward(const Options& o) {
  int source = accept_one(*o.listen);
  int destination = connect_to(o.connect);
  Direction up{source, destination}, down{destination, source};
  std::vector<uint8_t> buffer(kBufferSize);
  bool going = true;
  while (going && (up.open || down.open)) {
    pollfd fds[2] = {{source, static_cast<short>(up.open ? POLLIN : 0), 0},
                     {destination, static_cast<short>(down.open ? POLLIN : 0), 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die_errno("poll");
    }
    if (up.open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
      going = pump(up, o, true, buffer);
    if (going && down.open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
      going = pump(down, o, false, buffer);
  }
  // Cut both ends at once: a truncated stream looks like a link that died.
  close(source);
  close(destination);
  std::printf("proxy: done: %lu bytes from the source, %lu from the destination%s\n",
              static_cast<unsigned long>(up.bytes), static_cast<unsigned long>(down.bytes),
              o.truncate_after && up.bytes >= *o.truncate_after ? " (truncated)" : "");
  return 0;
}

// Sends N pseudo-random bytes, then reports how much the peer answered before it closed.
int send_garbage(const Options& o) {
  int fd = connect_to(o.connect);
  std::mt19937_64 random(12345);
  std::vector<uint8_t> garbage(*o.garbage);
  for (auto& byte : garbage) byte = static_cast<uint8_t>(random());
  bool sent = write_all(fd, garbage.data(), garbage.size());
  shutdown(fd, SHUT_WR);
  uint64_t received = 0;
  std::vector<uint8_t> buffer(kBufferSize);
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, kGarbageReplyTimeoutMs) > 0) {
    ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
    if (n <= 0) break;
    received += static_cast<uint64_t>(n);
  }
  close(fd);
  std::printf("proxy: garbage: sent %s%lu bytes, received %lu\n", sent ? "" : "part of ",
              static_cast<unsigned long>(garbage.size()), static_cast<unsigned long>(received));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_options(argc, argv);
  return o.garbage ? send_garbage(o) : forward(o);
}
