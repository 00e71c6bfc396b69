// Migration endpoints ("tcp:HOST:PORT", "unix:PATH"), the key file, and state names.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "migration.hpp"

namespace kagami {
namespace {

uint16_t parse_port(const std::string& text, const std::string& whole) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos)
    throw MigrationError("bad port in '" + whole + "' (expected tcp:HOST:PORT)");
  unsigned long port = std::stoul(text);
  if (port > 65535) throw MigrationError("port " + text + " is out of range in '" + whole + "'");
  return static_cast<uint16_t>(port);
}

MigrationEndpoint parse_tcp(const std::string& rest, const std::string& whole) {
  MigrationEndpoint e;
  size_t colon;
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      throw MigrationError("bad IPv6 address in '" + whole + "' (expected tcp:[ADDR]:PORT)");
    e.host = rest.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = rest.rfind(':');
    if (colon == std::string::npos)
      throw MigrationError("no port in '" + whole + "' (expected tcp:HOST:PORT)");
    e.host = rest.substr(0, colon);
  }
  if (e.host.empty()) throw MigrationError("no host in '" + whole + "' (expected tcp:HOST:PORT)");
  e.port = parse_port(rest.substr(colon + 1), whole);
  return e;
}

}  // namespace

MigrationEndpoint MigrationEndpoint::parse(const std::string& text) {
  if (text.rfind("tcp:", 0) == 0) return parse_tcp(text.substr(4), text);
  if (text.rfind("unix:", 0) == 0) {
    MigrationEndpoint e;
    e.kind = Kind::kUnix;
    e.path = text.substr(5);
    if (e.path.empty()) throw MigrationError("no path in '" + text + "' (expected unix:PATH)");
    if (e.path.size() >= sizeof(sockaddr_un{}.sun_path))
      throw MigrationError("socket path '" + e.path + "' is too long (at most " +
                           std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes)");
    return e;
  }
  throw MigrationError("unknown migration endpoint '" + text +
                       "' (expected tcp:HOST:PORT or unix:PATH)");
}

std::string MigrationEndpoint::to_string() const {
  if (kind == Kind::kUnix) return "unix:" + path;
  bool ipv6 = host.find(':') != std::string::npos;
  return "tcp:" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::vector<uint8_t> read_migration_key(const std::string& path) {
  constexpr size_t kMin = 16, kMax = 4096;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) throw MigrationError("cannot open key file " + path + ": " + std::strerror(errno));
  struct stat st {};
  std::string problem;
  if (fstat(fd, &st) != 0)
    problem = std::strerror(errno);
  else if (!S_ISREG(st.st_mode))
    problem = "not a regular file";
  else if (st.st_mode & (S_IRWXG | S_IRWXO))
    problem = "others may access it (chmod 600 it)";
  else if (st.st_uid != geteuid())
    problem = "it belongs to another user";
  else if (st.st_size < static_cast<off_t>(kMin) || st.st_size > static_cast<off_t>(kMax))
    problem = std::to_string(st.st_size) + " bytes (a key has 16 to 4096)";
  std::vector<uint8_t> key(problem.empty() ? static_cast<size_t>(st.st_size) : 0);
  if (problem.empty() && read(fd, key.data(), key.size()) != static_cast<ssize_t>(key.size()))
    problem = "short read";
  close(fd);
  if (!problem.empty()) throw MigrationError("key file " + path + ": " + problem);
  return key;
}

}  // namespace kagami
