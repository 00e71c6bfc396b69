// The control socket's listener and connections (Boost.Asio local stream sockets).
#include "api/control_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include "api/control_requests.hpp"

namespace kagami {

using boost::asio::local::stream_protocol;

namespace {

class Session;

// What the listener and its connections share; `closed` tells a handler that runs after the
// server is gone (its completion already queued) to touch nothing.
struct ServerCore {
  ServerCore(boost::asio::io_context& io, const std::string& path, VmControl& vm)
      : path(path), vm(vm), acceptor(io), retry(io) {}
  std::string path;
  VmControl& vm;
  stream_protocol::acceptor acceptor;
  boost::asio::steady_timer retry;
  std::set<std::shared_ptr<Session>> sessions;
  ino_t inode = 0;
  bool closed = false;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<ServerCore> core, stream_protocol::socket socket)
      : core_(std::move(core)), socket_(std::move(socket)) {}

  void start() { read(); }

  // For a client over the limit: the reason, then the end.
  void reject(const std::string& why) {
    send(error_reply(why), [this] { close(); });
  }

  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    if (!core_->closed) core_->sessions.erase(shared_from_this());
  }

 private:
  void read() {
    socket_.async_read_some(boost::asio::buffer(chunk_),
                            [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                              if (self->core_->closed) return;
                              if (ec) return self->close();  // EOF or error: the client is gone
                              self->pending_.append(self->chunk_.data(), n);
                              self->process();
                            });
  }

  // Takes the next complete line and answers it; reads more when there is none. One request
  // at a time: a client that does not read its replies stops being read, so it cannot make
  // this buffer grow beyond one line.
  void process() {
    for (;;) {
      size_t newline = pending_.find('\n');
      if (newline == std::string::npos) {
        if (discarding_) {
          pending_.clear();
        } else if (pending_.size() > ControlServer::kMaxLineBytes) {
          pending_.clear();
          discarding_ = true;  // until its newline; the connection stays usable after it
          return send(too_long(), {});
        }
        return read();
      }
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      if (discarding_) {
        discarding_ = false;
        continue;
      }
      if (line.size() > ControlServer::kMaxLineBytes) return send(too_long(), {});
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
      ControlReply reply = handle_request(core_->vm, line);
      return send(reply.body, std::move(reply.then));
    }
  }

  static Json too_long() {
    return error_reply("request longer than " + std::to_string(ControlServer::kMaxLineBytes) +
                       " bytes: ignored up to its newline");
  }

  void send(const Json& body, std::function<void()> then) {
    out_ = to_json(body) + "\n";
    boost::asio::async_write(
        socket_, boost::asio::buffer(out_),
        [self = shared_from_this(), then = std::move(then)](boost::system::error_code ec, size_t) {
          if (self->core_->closed) return;
          if (ec) return self->close();
          if (then) {
            then();
            if (self->core_->closed || !self->socket_.is_open()) return;
          }
          self->process();
        });
  }

  std::shared_ptr<ServerCore> core_;
  stream_protocol::socket socket_;
  std::array<char, 4096> chunk_;
  std::string pending_;
  std::string out_;
  bool discarding_ = false;
};

void accept_next(const std::shared_ptr<ServerCore>& core) {
  core->acceptor.async_accept([core](boost::system::error_code ec, stream_protocol::socket socket) {
    if (core->closed || ec == boost::asio::error::operation_aborted) return;
    if (ec) {  // out of file descriptors, say: try again a little later, not in a busy loop
      core->retry.expires_after(std::chrono::milliseconds(100));
      core->retry.async_wait([core](boost::system::error_code e) {
        if (!e && !core->closed) accept_next(core);
      });
      return;
    }
    auto session = std::make_shared<Session>(core, std::move(socket));
    if (core->sessions.size() >= ControlServer::kMaxClients) {
      session->reject("too many clients (at most " + std::to_string(ControlServer::kMaxClients) +
                      ")");
    } else {
      core->sessions.insert(session);
      session->start();
    }
    accept_next(core);
  });
}

// Someone answers on `path`: another kagami owns it.
bool socket_is_live(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ControlError("socket: " + std::string(std::strerror(errno)));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  int error = errno;
  ::close(fd);
  if (rc == 0) return true;
  if (error == ECONNREFUSED) return false;
  throw ControlError(path + ": " + std::strerror(error));
}

void remove_stale_socket(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode)) throw ControlError(path + ": exists and is not a socket");
  if (socket_is_live(path)) throw ControlError(path + ": in use (a running kagami listens there)");
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    throw ControlError(path + ": cannot remove the stale socket: " + std::strerror(errno));
}

void listen_on(ServerCore& core) {
  const std::string& path = core.path;
  if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path))
    throw ControlError("--api-socket: the path must have 1 to " +
                       std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
  remove_stale_socket(path);
  boost::system::error_code ec;
  core.acceptor.open(stream_protocol(), ec);
  if (!ec) {
    // Created 0600 from the start: a chmod after bind would leave a window open to others.
    mode_t old_mask = ::umask(0177);
    core.acceptor.bind(stream_protocol::endpoint(path), ec);
    ::umask(old_mask);
  }
  if (!ec) core.acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) throw ControlError(path + ": " + ec.message());
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) core.inode = st.st_ino;
}

}  // namespace

struct ControlServer::Core : ServerCore {
  using ServerCore::ServerCore;
};

ControlServer::ControlServer(boost::asio::io_context& io, const std::string& path, VmControl& vm)
    : core_(std::make_shared<Core>(io, path, vm)) {
  listen_on(*core_);
  accept_next(core_);
}

ControlServer::~ControlServer() {
  core_->closed = true;
  boost::system::error_code ignored;
  core_->acceptor.close(ignored);
  core_->retry.cancel();
  for (const auto& session : core_->sessions) session->close();
  core_->sessions.clear();
  // Only our own socket: a successor may have bound the path since.
  struct stat st {};
  if (::lstat(core_->path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == core_->inode)
    ::unlink(core_->path.c_str());
}

size_t ControlServer::clients() const {
  return core_->sessions.size();
}

const std::string& ControlServer::path() const {
  return core_->path;
}

}  // namespace kagami
