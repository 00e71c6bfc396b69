// The control socket: a Unix stream socket on the event loop, one JSON request and reply per line.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <memory>
#include <string>

#include "api/vm_control.hpp"

namespace kagami {

class ControlServer {
 public:
  static constexpr size_t kMaxLineBytes = 64 * 1024;  // a longer request is refused, not read
  static constexpr size_t kMaxClients = 16;           // more get an error and are closed

  // Listens at `path` with mode 0600. Refuses (ControlError) a path that is not a socket or on
  // which a live server answers; a stale socket (nobody listening) is replaced. Requests run on
  // `io`'s thread, one at a time, and call `vm`.
  ControlServer(boost::asio::io_context& io, const std::string& path, VmControl& vm);
  ~ControlServer();  // closes every connection and removes the socket file
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  size_t clients() const;  // connections open now
  const std::string& path() const;

  struct Core;

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace kagami
