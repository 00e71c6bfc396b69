// A TCP proxy on loopback for one connection that keeps a copy of what the client sent: what
// an eavesdropper on the migration link would see.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "migration.hpp"

namespace kagami::test {

class RecordingProxy {
 public:
  explicit RecordingProxy(uint16_t target_port) : target_port_(target_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in at = loopback(0);
    socklen_t len = sizeof(at);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&at), sizeof(at)) != 0 ||
        listen(listen_fd_, 1) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&at), &len) != 0)
      throw std::runtime_error("proxy: cannot listen");
    port_ = ntohs(at.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~RecordingProxy() {
    stop_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    close(listen_fd_);
  }

  MigrationEndpoint endpoint() const {
    return MigrationEndpoint::parse("tcp:127.0.0.1:" + std::to_string(port_));
  }
  std::vector<uint8_t> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  static sockaddr_in loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }

  void serve() {
    int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to = loopback(target_port_);
    if (connect(server, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0) relay(client, server);
    close(server);
    close(client);
  }

  // Both directions until either side closes (or the proxy is stopped).
  void relay(int client, int server) {
    std::vector<uint8_t> buffer(1 << 16);
    pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    while (!stop_) {
      if (poll(fds, 2, 50) < 0) return;
      for (int i = 0; i < 2; i++) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = read(fds[i].fd, buffer.data(), buffer.size());
        if (n <= 0) return;
        if (i == 0) {
          std::lock_guard lock(mutex_);
          seen_.insert(seen_.end(), buffer.begin(), buffer.begin() + n);
        }
        if (write(fds[1 - i].fd, buffer.data(), static_cast<size_t>(n)) != n) return;
      }
    }
  }

  uint16_t target_port_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<uint8_t> seen_;
  std::thread thread_;
};

}  // namespace kagami::test
