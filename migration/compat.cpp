// A generic recursive comparison of two flattened device trees with libfdt.
#include "compat.hpp"

#include <libfdt.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <set>

namespace kagami {
namespace {

constexpr int kMaxDepth = 16;
constexpr size_t kMaxListed = 8;

bool printable_string(const uint8_t* value, int length) {
  if (length < 2 || value[length - 1] != 0) return false;
  for (int i = 0; i < length - 1; i++)
    if (!std::isprint(value[i]) && value[i] != 0) return false;
  return true;
}

// Cells are big-endian (FDT): 4 bytes as u32, 8 as u64, NUL-terminated text as a string,
// anything else as hex.
std::string format_value(const void* raw, int length) {
  auto* value = static_cast<const uint8_t*>(raw);
  if (length == 4 || length == 8) {
    uint64_t v = 0;
    for (int i = 0; i < length; i++) v = v << 8 | value[i];
    return std::to_string(v);
  }
  if (printable_string(value, length))
    return "\"" + std::string(reinterpret_cast<const char*>(value)) + "\"";
  std::string out = length == 0 ? "(empty)" : "0x";
  for (int i = 0; i < length && i < 16; i++) {
    char hex[3];
    std::snprintf(hex, sizeof(hex), "%02x", value[i]);
    out += hex;
  }
  if (length > 16) out += "... (" + std::to_string(length) + " bytes)";
  return out;
}

struct Comparison {
  const void* src;
  const void* dst;
  std::vector<std::string> out;

  void properties(int s, int d, const std::string& path) {
    std::set<std::string> seen;
    int offset;
    fdt_for_each_property_offset(offset, src, s) {
      const char* name;
      int slen;
      const void* svalue = fdt_getprop_by_offset(src, offset, &name, &slen);
      if (!svalue) continue;
      seen.insert(name);
      int dlen;
      const void* dvalue = fdt_getprop(dst, d, name, &dlen);
      if (!dvalue)
        out.push_back(path + name + ": source " + format_value(svalue, slen) +
                      ", destination (missing)");
      else if (slen != dlen || std::memcmp(svalue, dvalue, slen) != 0)
        out.push_back(path + name + ": source " + format_value(svalue, slen) + ", destination " +
                      format_value(dvalue, dlen));
    }
    fdt_for_each_property_offset(offset, dst, d) {
      const char* name;
      int dlen;
      const void* dvalue = fdt_getprop_by_offset(dst, offset, &name, &dlen);
      if (dvalue && !seen.count(name))
        out.push_back(path + name + ": source (missing), destination " +
                      format_value(dvalue, dlen));
    }
  }

  void nodes(int s, int d, const std::string& path, int depth) {
    properties(s, d, path);
    if (depth >= kMaxDepth) {
      out.push_back(path + ": nested too deeply to compare");
      return;
    }
    std::set<std::string> seen;
    int child;
    fdt_for_each_subnode(child, src, s) {
      const char* name = fdt_get_name(src, child, nullptr);
      if (!name) continue;
      seen.insert(name);
      int other = fdt_subnode_offset(dst, d, name);
      if (other < 0)
        out.push_back(path + name + ": missing on the destination");
      else
        nodes(child, other, path + name + "/", depth + 1);
    }
    fdt_for_each_subnode(child, dst, d) {
      const char* name = fdt_get_name(dst, child, nullptr);
      if (name && !seen.count(name)) out.push_back(path + name + ": missing on the source");
    }
  }
};

std::string check_blob(std::span<const uint8_t> bytes, const char* which) {
  if (bytes.size() < sizeof(fdt_header))
    return std::string("the ") + which + "'s machine description is malformed: too short";
  std::vector<uint64_t> blob((bytes.size() + 7) / 8);
  std::memcpy(blob.data(), bytes.data(), bytes.size());
  int err = fdt_check_full(blob.data(), bytes.size());
  if (err != 0)
    return std::string("the ") + which +
           "'s machine description is malformed: " + fdt_strerror(err);
  return {};
}

}  // namespace

std::vector<std::string> describe_differences(std::span<const uint8_t> source,
                                              std::span<const uint8_t> destination) {
  for (auto [blob, which] : {std::pair{source, "source"}, std::pair{destination, "destination"}})
    if (std::string error = check_blob(blob, which); !error.empty()) return {error};
  // libfdt wants 8-byte aligned blobs: copies into buffers of u64.
  std::vector<uint64_t> src((source.size() + 7) / 8), dst((destination.size() + 7) / 8);
  std::memcpy(src.data(), source.data(), source.size());
  std::memcpy(dst.data(), destination.data(), destination.size());
  Comparison c{src.data(), dst.data(), {}};
  c.nodes(0, 0, "", 0);
  return c.out;
}

std::string differences_message(const std::vector<std::string>& differences) {
  std::string message;
  for (size_t i = 0; i < differences.size() && i < kMaxListed; i++)
    message += (i ? "; " : "") + differences[i];
  if (differences.size() > kMaxListed)
    message += "; and " + std::to_string(differences.size() - kMaxListed) + " more";
  return message;
}

}  // namespace kagami
