// RAM passes on the source: data pages, coalesced zero markers, memfd holes skipped unread.
#include "ram_sender.hpp"

#include <bit>

#include "ram_pages.hpp"

namespace kagami {
namespace {
constexpr uint64_t kCheckEvery = 256;  // pages between time-limit checks
}

RamSender::RamSender(const GuestMemory& memory, FrameWriter& writer, std::function<void()> check)
    : memory_(memory), writer_(writer), check_(std::move(check)) {}

void RamSender::flush_zero_run() {
  if (run_count_ == 0) return;
  uint8_t payload[16];
  wire::put_u64(payload, run_first_);
  wire::put_u64(payload + 8, run_count_);
  writer_.send(wire::Type::kZeroPages, payload);
  run_count_ = 0;
}

void RamSender::zero_run(uint64_t first, uint64_t count) {
  if (run_count_ && run_first_ + run_count_ != first) flush_zero_run();
  if (run_count_ == 0) run_first_ = first;
  run_count_ += count;
  counters_.pages += count;
  counters_.zero_pages += count;
}

void RamSender::page(uint64_t number) {
  const uint8_t* data = page_address(memory_, number);
  if (page_is_zero(data)) {
    zero_run(number, 1);
  } else {
    flush_zero_run();
    writer_.send_page(number, data);
    counters_.pages++;
  }
  if (counters_.pages % kCheckEvery == 0) check_();
}

PassCounters RamSender::end_pass(unsigned pass, uint64_t bytes_before) {
  flush_zero_run();
  uint8_t index[4];
  wire::put_u32(index, pass);
  writer_.send(wire::Type::kPassEnd, index);
  writer_.send_mac();
  writer_.flush();
  counters_.bytes = writer_.bytes() - bytes_before;
  PassCounters result = counters_;
  counters_ = {};
  return result;
}

PassCounters RamSender::send_all(unsigned pass) {
  uint64_t before = writer_.bytes();
  uint64_t pages = page_count(memory_);
  for (uint64_t p = 0; p < pages;) {
    uint64_t data = next_data_page(memory_, p);
    if (data > p) {
      zero_run(p, data - p);  // a memfd hole: zeros, never read (reading would allocate it)
      p = data;
      continue;
    }
    uint64_t end = next_hole_page(memory_, p);
    for (; p < end; p++) page(p);
  }
  return end_pass(pass, before);
}

PassCounters RamSender::send_dirty(unsigned pass, const std::vector<uint64_t>& bitmap) {
  uint64_t before = writer_.bytes();
  uint64_t pages = page_count(memory_);
  for (size_t w = 0; w < bitmap.size(); w++) {
    for (uint64_t bits = bitmap[w]; bits; bits &= bits - 1) {
      uint64_t p = w * 64 + static_cast<uint64_t>(std::countr_zero(bits));
      if (p < pages) page(p);
    }
  }
  return end_pass(pass, before);
}

}  // namespace kagami
