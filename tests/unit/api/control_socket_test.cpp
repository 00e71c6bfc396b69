// Tests of the control socket itself: the file, framing, oversize lines, the client limit and
// clients that vanish.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <fstream>

#include "control_fixture.hpp"

namespace kagami {
namespace {

// A client that sends raw bytes and reads raw lines.
class RawClient {
 public:
  explicit RawClient(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    timeval timeout{5, 0};  // a broken server fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~RawClient() { close(); }
  bool connected() const { return connected_; }
  void send(const std::string& bytes) {
    for (size_t sent = 0; sent < bytes.size();) {
      ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      ASSERT_GT(n, 0) << std::strerror(errno);
      sent += static_cast<size_t>(n);
    }
  }
  // The next line, or "<eof>" when the server closed the connection.
  std::string line() {
    for (;;) {
      size_t newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      char chunk[4096];
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) return "<eof>";
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

constexpr const char* kStatus = "{\"command\":\"status\"}\n";

bool is_ok(const std::string& line) {
  return line.rfind(R"({"ok":true)", 0) == 0;
}

TEST_F(ControlServerTest, SocketIsPrivate) {
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ControlServerTest, LiveSocketIsRefused) {
  FakeVm other;
  EXPECT_THROW(ControlServer(io_, path_, other), ControlError);
  EXPECT_TRUE(ask(kStatus).find("ok")->as_bool());  // the first one goes on serving
}

TEST_F(ControlServerTest, NotASocketIsRefused) {
  std::string file = path_ + ".file";
  std::ofstream(file) << "data";
  FakeVm other;
  boost::asio::io_context io;
  EXPECT_THROW(ControlServer(io, file, other), ControlError);
  std::ifstream in(file);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "data");  // left alone
  ::unlink(file.c_str());
}

TEST_F(ControlServerTest, StaleSocketIsReplacedAndRemovedAtTheEnd) {
  std::string stale = path_ + ".stale";
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, stale.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ::close(fd);  // bound, never listened, closed: what a killed kagami leaves behind
  FakeVm other;
  boost::asio::io_context io;
  {
    ControlServer server(io, stale, other);
    struct stat st {};
    ASSERT_EQ(::stat(stale.c_str(), &st), 0);
  }
  struct stat st {};
  EXPECT_NE(::stat(stale.c_str(), &st), 0);
}

TEST_F(ControlServerTest, PathTooLongIsRefused) {
  FakeVm other;
  boost::asio::io_context io;
  EXPECT_THROW(ControlServer(io, "/tmp/" + std::string(200, 'x'), other), ControlError);
}

TEST_F(ControlServerTest, TwoRequestsInOneWriteAndCrLf) {
  RawClient client(path_);
  client.send("{\"command\":\"pause\"}\r\n\n  \n{\"command\":\"resume\"}\n");
  EXPECT_EQ(client.line(), R"({"ok":true})");
  EXPECT_EQ(client.line(), R"({"ok":true})");
  EXPECT_EQ(vm_.log(), (std::vector<std::string>{"pause", "resume"}));
}

TEST_F(ControlServerTest, RequestSplitAcrossWrites) {
  RawClient client(path_);
  client.send("{\"comm");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  client.send("and\":\"pause\"}\n");
  EXPECT_EQ(client.line(), R"({"ok":true})");
}

TEST_F(ControlServerTest, OversizeLineIsRefusedAndSkipped) {
  RawClient client(path_);
  std::string huge = "{\"command\":\"" + std::string(ControlServer::kMaxLineBytes + 10, 'x');
  client.send(huge);
  std::string reply = client.line();
  EXPECT_NE(reply.find("longer than 65536"), std::string::npos) << reply;
  client.send(std::string(100000, 'y') + "\"}\n" + kStatus);  // the rest of it, then a request
  EXPECT_TRUE(is_ok(client.line()));
  EXPECT_TRUE(vm_.log() == std::vector<std::string>{"status"});
}

TEST_F(ControlServerTest, OversizeLineInOneWrite) {
  RawClient client(path_);
  client.send(std::string(ControlServer::kMaxLineBytes + 1, ' ') + "\n" + kStatus);
  EXPECT_NE(client.line().find("longer than"), std::string::npos);
  EXPECT_TRUE(is_ok(client.line()));
}

TEST_F(ControlServerTest, LineOfExactlyTheLimitIsRead) {
  RawClient client(path_);
  std::string line = R"({"command":"status"})";
  line += std::string(ControlServer::kMaxLineBytes - line.size(), ' ');
  client.send(line + "\n");
  EXPECT_TRUE(is_ok(client.line()));
}

TEST_F(ControlServerTest, ClientLimit) {
  std::vector<std::unique_ptr<RawClient>> open;
  for (size_t i = 0; i < ControlServer::kMaxClients; i++) {
    open.push_back(std::make_unique<RawClient>(path_));
    open.back()->send(kStatus);
    ASSERT_TRUE(is_ok(open.back()->line())) << i;
  }
  EXPECT_EQ(clients(), ControlServer::kMaxClients);
  RawClient extra(path_);
  std::string refused = extra.line();
  EXPECT_NE(refused.find("too many clients"), std::string::npos) << refused;
  EXPECT_EQ(extra.line(), "<eof>");
  open.pop_back();
  ASSERT_TRUE(wait_for_clients(ControlServer::kMaxClients - 1));
  RawClient again(path_);
  again.send(kStatus);
  EXPECT_TRUE(is_ok(again.line()));
  for (auto& c : open) {  // the others were not disturbed
    c->send(kStatus);
    EXPECT_TRUE(is_ok(c->line()));
  }
}

TEST_F(ControlServerTest, ClientsThatVanish) {
  {
    RawClient half(path_);
    half.send("{\"command\":\"sta");  // gone mid-line
  }
  {
    RawClient rude(path_);
    rude.send(std::string(kStatus) + kStatus + kStatus);  // gone before reading its replies
  }
  {
    RawClient oversize(path_);
    oversize.send(std::string(ControlServer::kMaxLineBytes * 2, 'z'));
  }
  ASSERT_TRUE(wait_for_clients(0));
  EXPECT_TRUE(is_ok(to_json(ask(kStatus))));
}

TEST_F(ControlServerTest, ManyClientsInTurn) {
  for (int i = 0; i < 200; i++) {
    RawClient client(path_);
    ASSERT_TRUE(client.connected());
    client.send(kStatus);
    ASSERT_TRUE(is_ok(client.line())) << i;
  }
  EXPECT_TRUE(wait_for_clients(0));
}

}  // namespace
}  // namespace kagami
