// CPU-only builds: the VGGT CUDA launchers exist but refuse to run.
#include "core/error.h"
#include "vggt/cuda_ops.h"

namespace vg::vggt::cuda {

namespace {
[[noreturn]] void no_cuda(const char* op) { VG_FAIL("VGGT ", op, ": vgsplat was built without CUDA"); }
}  // namespace

const char* precision_name(Precision p) {
  return p == Precision::F32 ? "fp32" : p == Precision::BF16 ? "bf16" : "fp16";
}
void convert_weights(const float*, void*, int64_t, Precision) { no_cuda("convert_weights"); }
void linear(const float*, int64_t, int64_t, const void*, int64_t, const float*, float*, int64_t, Epilogue, const float*,
            Precision) {
  no_cuda("linear");
}
AttnLayout attention_layout(int, Precision) { return AttnLayout::kRows; }
void attention_relayout(const void*, void*, int64_t, int64_t, int, AttnLayout) { no_cuda("attention_relayout"); }
void flash_attention(const void*, const void*, const void*, float*, int64_t, int, int64_t, int, Precision, AttnLayout) {
  no_cuda("flash_attention");
}
void attention_prep(const float*, int64_t, int64_t, int, int, const float*, const float*, const float*, const float*,
                    const int32_t*, const float*, void*, void*, void*, Precision, AttnLayout) {
  no_cuda("attention_prep");
}
void layer_norm(const float*, float*, int64_t, int64_t, const float*, const float*, float) { no_cuda("layer_norm"); }
void relu(const float*, float*, int64_t) { no_cuda("relu"); }
void silu(const float*, float*, int64_t) { no_cuda("silu"); }
void add(const float*, const float*, float*, int64_t) { no_cuda("add"); }
void copy_rows(const float*, int64_t, int64_t, float*, int64_t, int64_t, int64_t, int64_t) { no_cuda("copy_rows"); }
void patch_im2col(const float*, int64_t, int64_t, int64_t, int, float*, int64_t) { no_cuda("patch_im2col"); }
void dino_tokens(const float*, const float*, const float*, const float*, int64_t, int64_t, int64_t, int64_t, float*) {
  no_cuda("dino_tokens");
}
void aggregator_tokens(const float*, int64_t, const float*, const float*, int64_t, int64_t, int64_t, int64_t, float*) {
  no_cuda("aggregator_tokens");
}
void adaln_modulate(const float*, const float*, const float*, int64_t, int64_t, float*) { no_cuda("adaln_modulate"); }
void pose_update(float*, const float*, float*, int64_t, bool) { no_cuda("pose_update"); }
void broadcast_rows(const float*, int64_t, int64_t, float*) { no_cuda("broadcast_rows"); }
void im2col(const float*, int64_t, int64_t, int64_t, int, int, int, float*, int64_t, int64_t) { no_cuda("im2col"); }
void im2col16(const float*, int64_t, int64_t, int64_t, int, int, int, void*, int64_t, int64_t, Precision) {
  no_cuda("im2col16");
}
bool linear_a16_supported(int64_t, Precision) { return false; }
void gelu16(const float*, void*, int64_t, Precision) { no_cuda("gelu16"); }
void linear_a16(const void*, int64_t, int64_t, const void*, int64_t, const float*, float*, int64_t, Epilogue,
                const float*, Precision) {
  no_cuda("linear_a16");
}
void conv_transpose_scatter(const float*, int64_t, int64_t, int64_t, int, const float*, float*) {
  no_cuda("conv_transpose_scatter");
}
void bilinear(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, bool, float*) { no_cuda("bilinear"); }
void add_uv_pos_embed(float*, int64_t, int64_t, int64_t, int64_t, int64_t) { no_cuda("add_uv_pos_embed"); }
void head_activation(const float*, int64_t, int, float*, float*) { no_cuda("head_activation"); }

}  // namespace vg::vggt::cuda
