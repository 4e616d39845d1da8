// safetensors (huggingface) reader and writer. File layout: u64 little-endian header length N,
// N bytes of JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
// "__metadata__": {str: str}}, then the data buffer (offsets are relative to its start).
// Reading memory-maps the file; stored F32/F16/BF16 become F32 tensors, I64/I32/U8 keep their type
// unless another dtype is asked for. Corrupt files throw a one-line vg::Error naming the file.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace vg {

// Element types a safetensors file may hold (the subset vgsplat reads and writes).
enum class StDType : uint8_t { F32, F16, BF16, I64, I32, U8 };
const char* st_dtype_name(StDType t);  // "F32", "F16", ...
size_t st_dtype_size(StDType t);

// IEEE half and bfloat16 <-> float (round to nearest even; NaN stays NaN).
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);
float bf16_to_float(uint16_t b);
uint16_t float_to_bf16(float f);

struct SafetensorsEntry {
  StDType dtype;
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte range in the data buffer
};

class SafetensorsFile {
 public:
  // Maps `path` read-only and validates the header and every entry's byte range.
  static SafetensorsFile open(const std::filesystem::path& path);

  std::vector<std::string> keys() const;  // sorted
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  const SafetensorsEntry& entry(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::filesystem::path& path() const { return path_; }

  // A CPU copy; float types -> F32, integer types keep theirs.
  Tensor get(const std::string& name) const;
  // A CPU copy converted to `as` (F32, I32 or I64; U8 only from U8). Integer <-> float conversions are
  // allowed; an I64 value outside the I32 range throws.
  Tensor get(const std::string& name, DType as) const;

 private:
  std::filesystem::path path_;
  std::shared_ptr<const uint8_t> map_;  // the whole file (munmap on release)
  uint64_t file_size_ = 0, data_start_ = 0;
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a file, each converted as by SafetensorsFile::get(name).
std::map<std::string, Tensor> load_safetensors(const std::filesystem::path& path);

// Collects tensors (any device; copied to the host) and writes them atomically.
class SafetensorsWriter {
 public:
  // Stores `t` under `name`. F32 tensors may be stored as F32, F16 or BF16; integer tensors only as
  // their own type. Default: the tensor's own type.
  void add(const std::string& name, const Tensor& t);
  void add(const std::string& name, const Tensor& t, StDType stored);
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
  // The complete file contents (header padded with spaces to a multiple of 8 bytes, tensors by name).
  std::string serialize() const;
  void write(const std::filesystem::path& path) const;  // atomic (core/fs.h)

 private:
  struct Item {
    StDType dtype;
    Shape shape;
    std::string bytes;
  };
  std::map<std::string, Item> items_;
  std::map<std::string, std::string> metadata_;
};

void save_safetensors(const std::filesystem::path& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace vg
