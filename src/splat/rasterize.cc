// rasterize_forward / rasterize_backward: validate shapes and devices, then run the CPU reference
// (rasterize_cpu.cc) or the CUDA kernels (rasterize.cu).
#include "core/error.h"
#include "splat/rasterize.h"
#include "splat/rasterize_internal.h"

namespace vg {
namespace {

void check_same_device(const Tensor& t, const Device& d, const char* op, const char* name) {
  VG_CHECK(t.device() == d, op, ": ", name, " is on ", t.device().str(), " but means2d on ", d.str());
}

void check_inputs(const char* op, const Tensor& means2d, const Tensor& conics, const Tensor& colors,
                  const Tensor& opacities, const TileIntersections& isect, int width, int height) {
  VG_CHECK(width > 0 && height > 0, op, ": image size must be positive, got ", width, "x", height);
  means2d.expect("rasterize means2d", {-1, 2});
  const int64_t n = means2d.size(0);
  conics.expect("rasterize conics", {n, 3});
  colors.expect("rasterize colors", {n, 3});
  opacities.expect("rasterize opacities", {n});
  VG_CHECK(isect.tile_size > 0 && isect.tiles_x == (width + isect.tile_size - 1) / isect.tile_size &&
               isect.tiles_y == (height + isect.tile_size - 1) / isect.tile_size,
           op, ": tile grid ", isect.tiles_x, "x", isect.tiles_y, " does not cover a ", width, "x", height, " image");
  isect.tile_offsets.expect("rasterize tile_offsets", {int64_t{isect.tiles_x} * isect.tiles_y}, DType::I32);
  isect.flatten_ids.expect("rasterize flatten_ids", {isect.n_isects}, DType::I32);
  const Device d = means2d.device();
  check_same_device(conics, d, op, "conics");
  check_same_device(colors, d, op, "colors");
  check_same_device(opacities, d, op, "opacities");
  check_same_device(isect.tile_offsets, d, op, "tile_offsets");
  check_same_device(isect.flatten_ids, d, op, "flatten_ids");
  if (d.is_cuda())
    VG_CHECK(isect.tile_size == kTileSize, op, ": the CUDA backend supports tile_size ", kTileSize, " only");
}

RasterInputs<float> cpu_inputs(const Tensor& means2d, const Tensor& conics, const Tensor& colors,
                               const Tensor& opacities, const std::array<float, 3>& background,
                               const TileIntersections& isect, int width, int height) {
  RasterInputs<float> in{};
  in.means2d = means2d.data<float>();
  in.conics = conics.data<float>();
  in.colors = colors.data<float>();
  in.opacities = opacities.data<float>();
  for (int k = 0; k < 3; ++k) in.background[k] = background[k];
  in.tile_offsets = isect.tile_offsets.data<int32_t>();
  in.flatten_ids = isect.flatten_ids.data<int32_t>();
  in.n_isects = isect.n_isects;
  in.tile_size = isect.tile_size;
  in.tiles_x = isect.tiles_x;
  in.tiles_y = isect.tiles_y;
  in.width = width;
  in.height = height;
  return in;
}

}  // namespace

RasterOut rasterize_forward(const Tensor& means2d, const Tensor& conics, const Tensor& colors,
                            const Tensor& opacities, const std::array<float, 3>& background,
                            const TileIntersections& isect, int width, int height) {
  check_inputs("rasterize_forward", means2d, conics, colors, opacities, isect, width, height);
  if (means2d.is_cuda())
    return rasterize_forward_cuda(means2d, conics, colors, opacities, background, isect, width, height);
  RasterOut out;
  out.colors = Tensor::empty({height, width, 3});
  out.alphas = Tensor::empty({height, width});
  out.last_ids = Tensor::empty({height, width}, DType::I32);
  rasterize_forward_cpu(cpu_inputs(means2d, conics, colors, opacities, background, isect, width, height),
                        out.colors.data<float>(), out.alphas.data<float>(), out.last_ids.data<int32_t>());
  return out;
}

RasterGrads rasterize_backward(const Tensor& means2d, const Tensor& conics, const Tensor& colors,
                               const Tensor& opacities, const std::array<float, 3>& background,
                               const TileIntersections& isect, int width, int height, const RasterOut& fwd,
                               const Tensor& v_render_colors, const Tensor& v_render_alphas, bool absgrad) {
  const char* op = "rasterize_backward";
  check_inputs(op, means2d, conics, colors, opacities, isect, width, height);
  fwd.alphas.expect("rasterize_backward render_alphas", {height, width});
  fwd.last_ids.expect("rasterize_backward last_ids", {height, width}, DType::I32);
  v_render_colors.expect("rasterize_backward v_render_colors", {height, width, 3});
  const Device d = means2d.device();
  check_same_device(fwd.alphas, d, op, "render_alphas");
  check_same_device(fwd.last_ids, d, op, "last_ids");
  check_same_device(v_render_colors, d, op, "v_render_colors");
  if (v_render_alphas.defined()) {
    VG_CHECK(v_render_alphas.numel() == int64_t{height} * width && v_render_alphas.dtype() == DType::F32, op,
             ": v_render_alphas must be f32 [H,W] (or [H,W,1]), got ", shape_str(v_render_alphas.shape()));
    check_same_device(v_render_alphas, d, op, "v_render_alphas");
  }
  if (means2d.is_cuda())
    return rasterize_backward_cuda(means2d, conics, colors, opacities, background, isect, width, height, fwd,
                                   v_render_colors, v_render_alphas, absgrad);
  const int64_t n = means2d.size(0);
  RasterGrads g;
  g.v_means2d = Tensor::empty({n, 2});
  g.v_conics = Tensor::empty({n, 3});
  g.v_colors = Tensor::empty({n, 3});
  g.v_opacities = Tensor::empty({n});
  if (absgrad) g.v_means2d_abs = Tensor::empty({n, 2});
  rasterize_backward_cpu(cpu_inputs(means2d, conics, colors, opacities, background, isect, width, height),
                         fwd.alphas.data<float>(), fwd.last_ids.data<int32_t>(), v_render_colors.data<float>(),
                         v_render_alphas.defined() ? v_render_alphas.data<float>() : nullptr, n,
                         g.v_means2d.data<float>(), absgrad ? g.v_means2d_abs.data<float>() : nullptr,
                         g.v_conics.data<float>(), g.v_colors.data<float>(), g.v_opacities.data<float>());
  return g;
}

}  // namespace vg
