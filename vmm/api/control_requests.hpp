// The control socket's requests: one JSON object in, one JSON object out (docs/api.md).
#pragma once

#include <functional>
#include <string_view>

#include "api/json.hpp"
#include "api/vm_control.hpp"

namespace kagami {

struct ControlReply {
  Json body;                   // {"ok":true,...} or {"ok":false,"error":"..."}
  std::function<void()> then;  // run once the reply is written (quit), or empty
};

// Parses one request line and carries it out on `vm`. Never throws: every refusal, malformed
// request or failure of the VM becomes {"ok":false,"error":...}.
ControlReply handle_request(VmControl& vm, std::string_view line);

// The reply for an error, as the server also sends it for lines it cannot take.
Json error_reply(const std::string& message);

// The status as the "status" command returns it (without "ok").
Json status_json(const VmStatus& status);

}  // namespace kagami
