// Reading kernel and module image files, and the errors for files that cannot be used.
#include "image_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace kagami::test {
namespace {

#define EXPECT_MENTIONS(message, part) \
  EXPECT_NE((message).find(part), std::string::npos) << "message: " << (message)

// The message read_image_file throws; a test failure when it succeeds.
std::string read_error(const std::string& path, uint64_t max_size = 1 << 20) {
  try {
    read_image_file(path, max_size);
  } catch (const BootError& error) {
    std::string message = error.what();
    EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << "message does not name the file: " << message;
    return message;
  }
  ADD_FAILURE() << path << " was read";
  return "";
}

// The same, for an unprivileged user: root reads files whatever their mode, so as root the read
// runs in a child process that has dropped to nobody and reports the message through a pipe.
std::string read_error_unprivileged(const std::string& path) {
  if (geteuid() != 0) return read_error(path);
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return "pipe failed";
  pid_t child = fork();
  if (child == 0) {
    close(pipe_fds[0]);
    std::string message = "could not drop privileges";
    if (setgid(65534) == 0 && setuid(65534) == 0) {
      try {
        read_image_file(path, 1 << 20);
        message = "read succeeded";
      } catch (const BootError& error) {
        message = error.what();
      }
    }
    ssize_t written = write(pipe_fds[1], message.data(), message.size());
    _exit(written == static_cast<ssize_t>(message.size()) ? 0 : 1);
  }
  close(pipe_fds[1]);
  std::string message;
  char buffer[256];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0;) message.append(buffer, n);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  return message;
}

// A fresh directory per test, removed with its files afterwards.
class ImageFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "kagami-image-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    for (const std::string& file : files_) unlink(file.c_str());
    rmdir(dir_.c_str());
  }

  std::string write_file(const std::string& name, const std::vector<uint8_t>& content) {
    std::string path = dir_ + "/" + name;
    FILE* file = std::fopen(path.c_str(), "wb");
    EXPECT_NE(file, nullptr);
    if (!file) return path;
    if (!content.empty()) std::fwrite(content.data(), 1, content.size(), file);
    std::fclose(file);
    files_.push_back(path);
    return path;
  }

  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(ImageFileTest, ReadsTheWholeFile) {
  std::vector<uint8_t> content(10000);
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<uint8_t>(i * 13);
  EXPECT_EQ(read_image_file(write_file("kernel.elf", content), 10000), content);
}

TEST_F(ImageFileTest, MissingFile) {
  EXPECT_MENTIONS(read_error(dir_ + "/missing.elf"), "no such file");
}

TEST_F(ImageFileTest, Directory) {
  EXPECT_MENTIONS(read_error(dir_), "not a regular file");
}

TEST_F(ImageFileTest, DeviceIsNotARegularFile) {
  EXPECT_MENTIONS(read_error("/dev/null"), "not a regular file");
}

TEST_F(ImageFileTest, EmptyFile) {
  EXPECT_MENTIONS(read_error(write_file("empty.elf", {})), "the file is empty");
}

TEST_F(ImageFileTest, FileLargerThanTheLimit) {
  EXPECT_MENTIONS(read_error(write_file("big.elf", std::vector<uint8_t>(4097)), 4096),
                  "too large: 4097 bytes, more than the limit of 4096 bytes");
}

TEST_F(ImageFileTest, UnreadableFile) {
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);  // only the file's own mode may stop the read
  std::string path = write_file("secret.elf", {1, 2, 3});
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  EXPECT_MENTIONS(read_error_unprivileged(path), path + ": cannot open: Permission denied");
}

}  // namespace
}  // namespace kagami::test
