// Fuzz targets of the weight files and caches: safetensors, torch.save zip / legacy pickle, the mapper cache.
#include "core/error.h"
#include "fuzz/targets.h"
#include "io/safetensors.h"
#include "io/torch_pickle.h"
#include "sfm/mapper_input_io.h"

namespace vg::fuzz {

// Opens the file and converts every tensor (as stored, then to F32).
void safetensors(std::string_view bytes) {
  const SafetensorsFile st = SafetensorsFile::open(scratch_file("weights.safetensors", bytes));
  for (const std::string& k : st.keys()) {
    st.get(k);
    if (st.entry(k).dtype != StDType::U8) st.get(k, DType::F32);
  }
}

void torch(std::string_view bytes) {
  parse_torch_checkpoint(bytes, "model.pt");
}

void mapper_cache(std::string_view bytes) {
  load_mapper_input(scratch_file("mapper.cache", bytes));
}

}  // namespace vg::fuzz
