// Internal: CUDA launchers of the VGGT engine (cuda_gemm.cu, cuda_attention.cu, cuda_kernels.cu; the
// CPU-only build gets throwing definitions from cuda_ops_nocuda.cc). Raw device pointers, fp32 activations,
// default stream, no host synchronisation. Feature maps are NHWC ([pixels, C]) so 1x1 convs are plain GEMMs.
// C++17-clean: included by .cu files.
#pragma once
#include <cstdint>

namespace vg::vggt::cuda {

// Weight element type of the GEMMs and of the attention tensor-core path. F32 = exact fp32 FMA (parity path).
enum class Precision { F32, BF16, F16 };
const char* precision_name(Precision p);
// fp32 -> bf16 / fp16 (round to nearest even), n elements, device to device.
void convert_weights(const float* src, void* dst, int64_t n, Precision p);

// y = epilogue(A [M,K] @ W[N,K]^T + bias): nn.Linear. W is fp32 (Precision::F32) or 16-bit (BF16 / F16, A is
// rounded to the same type when staged; fp32 accumulation). ldc: row stride of C (>= N).
enum class Epilogue {
  kStore,     // C = acc + bias
  kGelu,      // C = gelu(acc + bias)  (exact erf GELU)
  kRelu,      // C = relu(acc + bias)
  kResidual,  // C += gamma * (acc + bias)  (LayerScale residual; gamma may be null: scale 1)
};
void linear(const float* A, int64_t M, int64_t K, const void* W, int64_t N, const float* bias, float* C, int64_t ldc,
            Epilogue epi, const float* gamma, Precision p);

// linear() with A already in the 16-bit type of p (bf16 / fp16), skipping the rounding pass: for producers that
// can write 16-bit directly (im2col16). Only through cuBLASLt: linear_a16_supported() says whether it can run.
bool linear_a16_supported(int64_t K, Precision p);
void linear_a16(const void* A16, int64_t M, int64_t K, const void* W, int64_t N, const float* bias, float* C,
                int64_t ldc, Epilogue epi, const float* gamma, Precision p);

// Element size of attention_prep's q, k, v (the attention's input type) for precision p: fp32, else bf16 / fp16.
inline int64_t attention_elem_bytes(Precision p) { return p == Precision::F32 ? 4 : 2; }

// Layout of attention_prep's q, k, v, which flash_attention reads.
//  kRows: [B*H, N, D] row-major.
//  kSwizzled128 (D = 64, 16-bit; the Hopper kernel of cuda_flash_attention_sm90.cu): [B*H, Np, 64] with
//    Np = attention_rows(N, l), N rounded up to kPadRows, rows >= N zero; in every 8-row group the eight 16-byte
//    chunks of row r sit at chunk c ^ (r % 8) (wgmma's 128-byte swizzle), so tiles are plain contiguous copies.
enum class AttnLayout { kRows, kSwizzled128 };
constexpr int64_t kPadRows = 128;
// The layout flash_attention is fastest from for (D, p) on the current device: kSwizzled128 for D = 64 in 16 bit on
// compute capability 9.0 when the build has sm_90a code, else kRows. VGSPLAT_ATTENTION=fa2 forces kRows.
AttnLayout attention_layout(int D, Precision p);
// Rows per (batch, head) slice in layout l: N, or N rounded up to kPadRows.
inline int64_t attention_rows(int64_t N, AttnLayout l) {
  return l == AttnLayout::kRows ? N : (N + kPadRows - 1) / kPadRows * kPadRows;
}
// Re-lays 16-bit q / k / v [BH, N, D] of layout kRows (src) into layout l (dst: BH * attention_rows(N, l) * D
// elements), device to device: for tests and benchmarks that build inputs directly.
void attention_relayout(const void* src, void* dst, int64_t BH, int64_t N, int D, AttnLayout l);

// Softmax attention, one fused kernel (online softmax over key tiles): q, k, v of layout l (already normalised /
// rotated) of the type attention_prep writes for p, out [B, N, H*D] fp32. D in {16, 32, 64, 128}. BF16 / F16: the
// tensor-core kernels (fp32 accumulation; BF16 needs sm_80); F32: an exact fp32 kernel (kRows only).
void flash_attention(const void* q, const void* k, const void* v, float* out, int64_t B, int H, int64_t N, int D,
                     Precision p, AttnLayout l);

// qkv [B,N,3C] -> q, k, v in layout l (fp32 for Precision::F32, else rounded to bf16 / fp16): per-head LayerNorm
// (eps 1e-5) of q and k when qw is non-null (qb / kb may be null), then 2-D RoPE when pos is non-null: pos [N,2]
// (y, x) integer positions, rope_cs [(max_pos + 1) * D/4 * 2] the (cos, sin) table of position p, pair j at
// (p * D/4 + j) * 2. Buffers hold B * H * attention_rows(N, l) * D elements.
void attention_prep(const float* qkv, int64_t B, int64_t N, int H, int D, const float* qw, const float* qb,
                    const float* kw, const float* kb, const int32_t* pos, const float* rope_cs, void* q, void* k,
                    void* v, Precision p, AttnLayout l);

// Row-wise LayerNorm over C (w, b may be null).
void layer_norm(const float* x, float* y, int64_t rows, int64_t C, const float* w, const float* b, float eps);

// Elementwise.
void relu(const float* x, float* y, int64_t n);
void silu(const float* x, float* y, int64_t n);
void add(const float* a, const float* b, float* y, int64_t n);  // y = a + b (y may alias a or b)
// Copies rows: dst[r * dst_ld + dst_off + c] = src[r * src_ld + src_off + c] for c < cols.
void copy_rows(const float* src, int64_t src_ld, int64_t src_off, float* dst, int64_t dst_ld, int64_t dst_off,
               int64_t rows, int64_t cols);

// Patch embedding im2col: images [S,3,H,W] in [0,1] -> normalised (ImageNet mean/std) patches [S*P, 3*p*p]
// in Conv2d weight order (channel, ky, kx), rows of ld >= 3 p p floats (the rest zero: K padded for the GEMM).
void patch_im2col(const float* images, int64_t S, int64_t H, int64_t W, int p, float* out, int64_t ld);
// DINOv2 tokens: x[s] = [cls + pos[0], registers, patches[s] + pos[1..]]: x [S, 1+R+P, E].
void dino_tokens(const float* patches, const float* cls, const float* reg, const float* pos, int64_t S, int64_t R,
                 int64_t P, int64_t E, float* x);
// Aggregator tokens: x[s] = [camera[w], registers[w], normed dino tokens x_dino[s, 1+R.., :]], w = (s > 0).
void aggregator_tokens(const float* dino_normed, int64_t dino_T, const float* camera, const float* reg, int64_t S,
                       int64_t R, int64_t P, int64_t E, float* x);

// Camera head adaLN: x = gate * (normed * (1 + scale) + shift) + tokens, mod [S, 3D] = (shift, scale, gate).
void adaln_modulate(const float* normed, const float* tokens, const float* mod, int64_t S, int64_t D, float* x);
// pred (+)= delta over [S,9] (accumulate = false: copy); act = pred with FoV (7, 8) ReLU'd.
void pose_update(float* pred, const float* delta, float* act, int64_t S, bool accumulate);
// Broadcast the 9-vector `v` to [S, 9].
void broadcast_rows(const float* v, int64_t S, int64_t C, float* out);

// Feature maps, NHWC [H, W, C] (one frame).
// im2col for a kxk conv with stride / padding: out [Ho*Wo, k*k*C], columns (ky, kx, c) (both sides coalesced);
// the conv weight must be permuted to [Cout, k, k, Cin] (conv_weight_khwc).
void im2col(const float* x, int64_t H, int64_t W, int64_t C, int k, int stride, int pad, float* out, int64_t Ho,
            int64_t Wo);
// y = gelu(x) (exact erf GELU) in the 16-bit type of p (the A operand of linear_a16).
void gelu16(const float* x, void* y, int64_t n, Precision p);
// im2col straight into the 16-bit type of p (bf16 / fp16), the A operand of linear_a16 (same column order).
void im2col16(const float* x, int64_t H, int64_t W, int64_t C, int k, int stride, int pad, void* out, int64_t Ho,
              int64_t Wo, Precision p);
// ConvTranspose2d (kernel == stride == k) from the GEMM result g [H*W, k*k*Cout] (columns (i, j, o); the
// weight [Cin, Cout, k, k] permuted to [k, k, Cout, Cin]): out [H k, W k, Cout] = g scattered + bias.
void conv_transpose_scatter(const float* g, int64_t H, int64_t W, int64_t Cout, int k, const float* bias, float* out);
// F.interpolate bilinear to (Ho, Wo) with align_corners.
void bilinear(const float* x, int64_t H, int64_t W, int64_t C, int64_t Ho, int64_t Wo, bool align_corners, float* y);
// DPT _apply_pos_embed: x += 0.1 * sincos UV embedding (image aspect W_img / H_img), in place.
void add_uv_pos_embed(float* x, int64_t h, int64_t w, int64_t C, int64_t W_img, int64_t H_img);
// Head activation on out [H*W, 2] (depth head: exp / 1 + exp) or [H*W, 4] (point head: inv_log / 1 + exp):
// writes value channels [HW, vc] (vc = 1 or 3) and conf [HW].
void head_activation(const float* out, int64_t HW, int channels, float* value, float* conf);

}  // namespace vg::vggt::cuda
