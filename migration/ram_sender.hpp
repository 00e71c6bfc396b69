// The source's RAM passes: every page (the first pass) or the dirty ones, zero pages as runs of
// markers, each pass closed by a kPassEnd and the stream MAC.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "frame_stream.hpp"
#include "kagami/guest_memory.hpp"

namespace kagami {

struct PassCounters {
  uint64_t pages = 0;
  uint64_t zero_pages = 0;
  uint64_t bytes = 0;
};

class RamSender {
 public:
  // `check` runs every few hundred pages: it throws to give up (time limit).
  RamSender(const GuestMemory& memory, FrameWriter& writer, std::function<void()> check);

  PassCounters send_all(unsigned pass);
  PassCounters send_dirty(unsigned pass, const std::vector<uint64_t>& bitmap);

 private:
  void page(uint64_t number);
  void zero_run(uint64_t first, uint64_t count);
  void flush_zero_run();
  PassCounters end_pass(unsigned pass, uint64_t bytes_before);

  const GuestMemory& memory_;
  FrameWriter& writer_;
  std::function<void()> check_;
  PassCounters counters_;
  uint64_t run_first_ = 0;
  uint64_t run_count_ = 0;
};

}  // namespace kagami
