// BootError: why a kernel or module could not be read or placed in guest RAM.
#pragma once

#include <stdexcept>

namespace kagami {

// Thrown by the boot loaders; the message names the file and the reason in one line.
class BootError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace kagami
