// The control socket's blocking client: one request line out, one reply line back.
#include "api/control_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "api/vm_control.hpp"

namespace kagami {

ControlClient::ControlClient(const std::string& path) : path_(path) {
  sockaddr_un address{};
  if (path.empty() || path.size() >= sizeof(address.sun_path))
    throw ControlError(path + ": not a usable socket path (1 to " +
                       std::to_string(sizeof(address.sun_path) - 1) + " bytes)");
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw ControlError("socket: " + std::string(std::strerror(errno)));
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  int rc;
  do {
    rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int error = errno;
    ::close(fd_);
    fd_ = -1;
    throw ControlError(path + ": " + std::strerror(error) +
                       (error == ENOENT || error == ECONNREFUSED
                            ? " (is kagami running with --api-socket " + path + "?)"
                            : std::string()));
  }
}

ControlClient::~ControlClient() {
  if (fd_ >= 0) ::close(fd_);
}

std::string ControlClient::exchange(const std::string& line) {
  std::string out = line + "\n";
  for (size_t sent = 0; sent < out.size();) {
    ssize_t n = ::send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ControlError(path_ + ": " + std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
  for (;;) {
    size_t newline = pending_.find('\n');
    if (newline != std::string::npos) {
      std::string reply = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      return reply;
    }
    if (pending_.size() > kMaxReplyBytes)
      throw ControlError(path_ + ": a reply longer than " + std::to_string(kMaxReplyBytes) +
                         " bytes");
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ControlError(path_ + ": " + std::strerror(errno));
    if (n == 0) throw ControlError(path_ + ": the VMM closed the connection");
    pending_.append(chunk, static_cast<size_t>(n));
  }
}

Json ControlClient::request(const Json& request) {
  std::string line = exchange(to_json(request));
  Json reply;
  try {
    reply = parse_json(line, {kMaxReplyBytes, 32});
  } catch (const JsonError& e) {
    throw ControlError(path_ + ": a reply that is not JSON (" + e.what() + ")");
  }
  if (!reply.is_object()) throw ControlError(path_ + ": a reply that is not a JSON object");
  return reply;
}

}  // namespace kagami
