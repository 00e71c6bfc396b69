// Reading a kernel or module image file into memory, with errors that say what is wrong.
#include "image_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kagami {
namespace {

// Closes the descriptor on every exit path.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw BootError(path + ": " + reason);
}

void read_exactly(int fd, const std::string& path, uint8_t* buffer, uint64_t size) {
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = read(fd, buffer + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, std::string("cannot read: ") + strerror(errno));
    if (n == 0) fail(path, "cannot read: the file shrank while being read");
    done += static_cast<uint64_t>(n);
  }
}

}  // namespace

std::vector<uint8_t> read_image_file(const std::string& path, uint64_t max_size) {
  // O_NONBLOCK so that opening a FIFO by mistake fails the regular-file check instead of hanging.
  FileDescriptor file(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (file.get() < 0) {
    if (errno == ENOENT) fail(path, "no such file");
    fail(path, std::string("cannot open: ") + strerror(errno));
  }
  // fstat on the open descriptor, so the checks apply to the file actually read.
  struct stat info;
  if (fstat(file.get(), &info) != 0) fail(path, std::string("cannot stat: ") + strerror(errno));
  if (S_ISDIR(info.st_mode)) fail(path, "not a regular file (it is a directory)");
  if (!S_ISREG(info.st_mode)) fail(path, "not a regular file");
  uint64_t size = static_cast<uint64_t>(info.st_size);
  if (size == 0) fail(path, "the file is empty");
  if (size > max_size)
    fail(path, "the file is too large: " + std::to_string(size) +
                   " bytes, more than the limit of " + std::to_string(max_size) + " bytes");

  std::vector<uint8_t> content(size);
  read_exactly(file.get(), path, content.data(), size);
  return content;
}

}  // namespace kagami
