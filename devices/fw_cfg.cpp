// fw_cfg: fixed items, the file directory, and byte-stream reads of the selected item.
#include "fw_cfg.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

#include "kagami/le_bytes.hpp"
#include "state_fields.hpp"

namespace kagami {
namespace {

constexpr uint16_t kArchLocal = 0x8000;  // selector bit 15
constexpr uint16_t kEntryMask = 0x3fff;  // drops bit 14 (write channel) and bit 15
constexpr size_t kMaxFiles = kEntryMask + 1 - FwCfg::kFileFirst;
constexpr size_t kDirEntrySize = 64;

std::vector<uint8_t> le_bytes(uint64_t value, size_t size) {
  std::vector<uint8_t> bytes(size);
  store_le(bytes, value);
  return bytes;
}

void put_be(std::vector<uint8_t>& out, uint64_t value, size_t size) {
  for (size_t i = size; i-- > 0;) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

}  // namespace

FwCfg::FwCfg(uint64_t ram_size, uint16_t cpus, uint16_t base) : base_(base) {
  if (cpus == 0) throw std::invalid_argument("fw_cfg: cpu count 0 is invalid");
  fixed_items_[kSignature] = {'Q', 'E', 'M', 'U'};
  fixed_items_[kId] = le_bytes(1, 4);
  fixed_items_[kRamSize] = le_bytes(ram_size, 8);
  fixed_items_[kCpuCount] = le_bytes(cpus, 2);
  fixed_items_[kMaxCpus] = le_bytes(cpus, 2);
  rebuild_directory();
}

void FwCfg::add_file(std::string name, std::vector<uint8_t> data) {
  const std::string what = "fw_cfg: file '" + name + "': ";
  if (name.empty()) throw std::invalid_argument("fw_cfg: file name is empty");
  if (name.size() > kMaxNameLength) {
    throw std::invalid_argument(what + "name is longer than 55 characters");
  }
  if (name.find('\0') != std::string::npos) {
    throw std::invalid_argument(what + "name contains a nul byte");
  }
  if (data.size() > std::numeric_limits<uint32_t>::max()) {
    throw std::invalid_argument(what + "data is larger than 4 GiB - 1");
  }
  std::lock_guard lock(mutex_);
  if (files_.size() == kMaxFiles) throw std::invalid_argument(what + "no file selector left");
  auto at = std::lower_bound(files_.begin(), files_.end(), name,
                             [](const File& file, const std::string& n) { return file.name < n; });
  if (at != files_.end() && at->name == name) throw std::invalid_argument(what + "already exists");
  files_.insert(at, File{std::move(name), std::move(data)});
  rebuild_directory();
}

void FwCfg::rebuild_directory() {
  std::vector<uint8_t> dir;
  dir.reserve(4 + files_.size() * kDirEntrySize);
  put_be(dir, files_.size(), 4);
  for (size_t i = 0; i < files_.size(); ++i) {
    put_be(dir, files_[i].data.size(), 4);
    put_be(dir, kFileFirst + i, 2);
    put_be(dir, 0, 2);
    size_t name_at = dir.size();
    dir.resize(name_at + kDirEntrySize - 8, 0);
    std::copy(files_[i].name.begin(), files_[i].name.end(), dir.begin() + name_at);
  }
  fixed_items_[kFileDir] = std::move(dir);
}

void FwCfg::attach(Bus& io) {
  io.add(base_, 2, *this, kWidth1 | kWidth2, "fw_cfg");
}

const std::vector<uint8_t>* FwCfg::item(uint16_t key) const {
  if (key & kArchLocal) return nullptr;
  uint16_t entry = key & kEntryMask;
  if (entry < kFileFirst) return &fixed_items_[entry];
  size_t index = entry - kFileFirst;
  return index < files_.size() ? &files_[index].data : nullptr;
}

void FwCfg::read(uint64_t, std::span<uint8_t> data) {
  if (data.size() != 1) {  // QEMU accepts only byte reads here
    std::fill(data.begin(), data.end(), uint8_t{0xff});
    return;
  }
  std::lock_guard lock(mutex_);
  const std::vector<uint8_t>* bytes = item(selector_);
  if (bytes && offset_ < bytes->size()) {
    data[0] = (*bytes)[offset_++];
  } else {
    data[0] = 0;
  }
}

void FwCfg::write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset != 0 || data.size() != 2) return;  // byte writes: data port writes, ignored
  std::lock_guard lock(mutex_);
  selector_ = static_cast<uint16_t>(load_le(data));
  offset_ = 0;
}

void FwCfg::save_state(StateWriter& out) const {
  std::lock_guard lock(mutex_);
  out.u16("selector", selector_);
  out.u32("offset", offset_);
}

void FwCfg::load_state(const StateReader& in) {
  uint16_t selector = in.u16("selector");
  uint32_t offset = in.u32("offset");
  std::lock_guard lock(mutex_);
  const std::vector<uint8_t>* bytes = item(selector);
  size_t size = bytes ? bytes->size() : 0;
  state_fields::require(offset <= size, in, "offset",
                        std::to_string(offset) + " is past the end of item " +
                            std::to_string(selector) + " (" + std::to_string(size) + " bytes)");
  selector_ = selector;
  offset_ = offset;
}

}  // namespace kagami
