// Reader for PyTorch checkpoints written by torch.save, without Python:
//  - the zip format (default since torch 1.6): <prefix>/data.pkl (pickle protocol 2) whose persistent
//    ids ('storage', StorageType, key, location, numel) refer to raw little-endian storages
//    <prefix>/data/<key>, stored uncompressed;
//  - the legacy format: pickled magic number, protocol version (1001) and sys_info, then the pickled
//    object with persistent ids ('storage', StorageType, root_key, location, numel, view_metadata),
//    a pickled list of storage keys, and per key an int64 element count followed by the raw storage.
// A pickle VM subset covers state dicts: dicts/OrderedDicts (nested ones are flattened with '.'),
// tensors rebuilt by torch._utils._rebuild_tensor(_v2) / _rebuild_parameter (any strides).
// Float/Half/BFloat16/Double storages become F32 tensors, Long -> I64, Int/Short/Char -> I32,
// Byte/Bool -> U8. Anything else (other globals, compressed zip entries, big-endian) is a one-line
// vg::Error naming the file.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace vg {

// name -> tensor, from a torch.save'd state dict (or a dict holding one: nested keys joined by '.').
std::map<std::string, Tensor> load_torch_state_dict(const std::filesystem::path& path);

// Same, from the bytes of such a file; `name` is used in error messages.
std::map<std::string, Tensor> parse_torch_checkpoint(std::string_view bytes, const std::string& name);

// A zip archive whose entries are stored (method 0), as torch.save writes them; zip64 is understood.
class StoredZip {
 public:
  struct Entry {
    std::string name;
    uint64_t data_offset = 0, size = 0;  // of the entry's bytes within the archive
    uint16_t method = 0;                 // 0 = stored
  };
  // Parses the central directory of `bytes` (which must outlive this object).
  StoredZip(std::string_view bytes, std::string file_name);
  const std::vector<Entry>& entries() const { return entries_; }
  const Entry* find(const std::string& name) const;
  std::string_view data(const Entry& e) const;  // throws for compressed entries

 private:
  std::string_view bytes_;
  std::string file_;
  std::vector<Entry> entries_;
};

bool looks_like_zip(std::string_view bytes);

}  // namespace vg
