// `kagami api` (one raw control request) and `kagami state dump` (a state file as text).
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "api/control_client.hpp"
#include "cli/commands.hpp"
#include "fdt_state.hpp"

namespace kagami {
namespace {

// Far more than any machine's state (255 vCPUs with XSAVE come to a few MiB).
constexpr uint64_t kMaxStateFileBytes = 256 << 20;

std::vector<uint8_t> read_state_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    throw UsageError(path + ": not a readable file");
  if (static_cast<uint64_t>(st.st_size) > kMaxStateFileBytes)
    throw UsageError(path + ": " + std::to_string(st.st_size) + " bytes, more than a state " +
                     "file has (" + std::to_string(kMaxStateFileBytes) + ")");
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
    throw UsageError(path + ": cannot be read");
  return bytes;
}

}  // namespace

int api_command(const ApiOptions& api) {
  ControlClient client(api.api_socket);
  std::string reply = client.exchange(api.request);
  std::printf("%s\n", reply.c_str());
  Json parsed;
  try {
    parsed = parse_json(reply, {ControlClient::kMaxReplyBytes, 32});
  } catch (const JsonError&) {
    return 1;
  }
  const Json* ok = parsed.find("ok");
  return ok && ok->is_bool() && ok->as_bool() ? 0 : 1;
}

int state_dump_command(const std::string& file) {
  std::vector<uint8_t> blob = read_state_file(file);
  std::string text;
  try {
    text = dump_state_text(blob);
  } catch (const std::exception& e) {
    throw UsageError(file + ": " + e.what());
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace kagami
