// A blocking client of the control socket, for `kagami migrate` and `kagami api`.
#pragma once

#include <string>

#include "api/json.hpp"

namespace kagami {

class ControlClient {
 public:
  static constexpr size_t kMaxReplyBytes = 16 << 20;

  // Connects to the control socket at path; throws ControlError saying why it cannot.
  explicit ControlClient(const std::string& path);
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Sends one line (a newline is added) and returns the reply line without its newline.
  // Throws ControlError when the server closes the connection or replies more than
  // kMaxReplyBytes. A signal does not abort the exchange (the caller checks its flags after).
  std::string exchange(const std::string& line);
  // The same with JSON on both sides; a reply that is not a JSON object is a ControlError.
  Json request(const Json& request);

 private:
  std::string path_;
  int fd_ = -1;
  std::string pending_;  // bytes read past the last reply
};

}  // namespace kagami
