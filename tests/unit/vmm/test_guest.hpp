// Tiny Multiboot guests for machine-level tests, and the hypervisor they run on.
//
// Each guest is an a.out-kludge Multiboot image built here: a header, then 32-bit code entered
// in protected mode at 1 MiB + 32.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "kagami/hypervisor.hpp"

namespace kagami::test {

inline constexpr uint32_t kLoadAddr = 0x100000;
inline constexpr uint32_t kCodeOffset = 32;

// A Multiboot image with the a.out kludge: the whole file loads at 1 MiB and the code starts
// 32 bytes in.
inline std::vector<uint8_t> kludge_image(std::vector<uint8_t> code) {
  const uint32_t flags = 1u << 16;
  const uint32_t header[8] = {0x1BADB002,
                              flags,
                              static_cast<uint32_t>(-(0x1BADB002 + flags)),
                              kLoadAddr,
                              kLoadAddr,
                              0,
                              0,
                              kLoadAddr + kCodeOffset};
  std::vector<uint8_t> image(kCodeOffset);
  std::memcpy(image.data(), header, sizeof(header));
  image.insert(image.end(), code.begin(), code.end());
  return image;
}

// /dev/kagami or /dev/kvm, or nullptr when neither can be opened (the test then skips, saying
// why).
inline std::unique_ptr<Hypervisor> open_test_hypervisor() {
  for (const char* path : {Hypervisor::kKagamiPath, Hypervisor::kKvmPath})
    if (access(path, R_OK | W_OK) == 0) return Hypervisor::open(path);
  return nullptr;
}

inline bool wait_until(auto predicate) {
  using namespace std::chrono_literals;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace kagami::test
