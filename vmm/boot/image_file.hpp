// Reading a kernel or module image file into memory, with errors that say what is wrong.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "boot_error.hpp"

namespace kagami {

// The whole content of the regular file at `path`. Throws BootError("<path>: <reason>") when the
// file is missing, not a regular file, unreadable, empty, or larger than `max_size` bytes.
std::vector<uint8_t> read_image_file(const std::string& path, uint64_t max_size);

}  // namespace kagami
