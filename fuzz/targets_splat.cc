// Fuzz targets of the splat files: INRIA PLY, antimatter15 .splat, Niantic .spz, training checkpoints.
#include "core/error.h"
#include "fuzz/targets.h"
#include "io/ply.h"
#include "io/splat_formats.h"
#include "splat/checkpoint.h"

namespace vg::fuzz {

void ply(std::string_view bytes) {
  read_ply_3dgs(scratch_file("model.ply", bytes));
}

void splat(std::string_view bytes) {
  decode_splat(std::string(bytes));
}

// Selector bit 0: the file's own axes instead of RUB.
void spz(std::string_view bytes) {
  const unsigned char s = selector(bytes);
  decode_spz(std::string(bytes), ".spz data", (s & 1) == 0);
}

void checkpoint(std::string_view bytes) {
  load_checkpoint(scratch_file("ckpt_1.safetensors", bytes));
}

}  // namespace vg::fuzz
