// The tracker's CNN feature encoders (track_modules/blocks.py BasicEncoder / ShallowEncoder, modules.py
// ResidualBlock, all with parameter-free instance norm), on one image [C,H,W] at a time.
#include <algorithm>
#include <cstring>

#include "metrics/conv2d.h"
#include "tracks/nn_ops.h"
#include "tracks/tracker_internal.h"
#include "vggt/cpu_ops.h"

namespace vg::tracks::detail {
namespace {

Tensor conv(const StateDict& w, const std::string& name, const Tensor& x, int stride, int pad) {
  return nn::conv2d(x, w.at(name + ".weight"), w.at(name + ".bias"), stride, pad);
}

// conv -> InstanceNorm2d -> ReLU
Tensor conv_in_relu(const StateDict& w, const std::string& name, const Tensor& x, int stride, int pad) {
  Tensor y = conv(w, name, x, stride, pad);
  ops::instance_norm_(y);
  nn::relu_(y);
  return y;
}

// ResidualBlock(norm_fn="instance"): relu(x' + relu(in(conv2(relu(in(conv1(x))))))), x' = in(conv1x1(x)) when
// strided.
Tensor residual_block(const StateDict& w, const std::string& pre, const Tensor& x, int stride) {
  Tensor y = conv_in_relu(w, pre + ".conv1", x, stride, 1);
  y = conv_in_relu(w, pre + ".conv2", y, 1, 1);
  Tensor skip = x;
  if (stride != 1) {
    skip = conv(w, pre + ".downsample.0", x, stride, 0);
    ops::instance_norm_(skip);
  }
  vggt::ops::add_(y, skip);
  nn::relu_(y);
  return y;
}

Tensor concat_channels(const std::vector<Tensor>& xs) {
  int64_t C = 0;
  for (const Tensor& x : xs) C += x.size(0);
  const int64_t H = xs[0].size(1), W = xs[0].size(2);
  Tensor out = Tensor::empty({C, H, W});
  float* dst = out.data<float>();
  for (const Tensor& x : xs) {
    std::memcpy(dst, x.data<float>(), x.nbytes());
    dst += x.numel();
  }
  return out;
}

void check_image(const Tensor& x, int64_t min_size, const char* what) {
  VG_CHECK(x.ndim() == 3 && x.size(0) == 3 && x.dtype() == DType::F32 && !x.is_cuda(), what,
           ": expected an F32 CPU image [3,H,W], got ", shape_str(x.shape()));
  VG_CHECK(x.size(1) >= min_size && x.size(2) >= min_size, what, ": image ", x.size(2), "x", x.size(1),
           " is too small (at least ", min_size, "x", min_size, " pixels)");
}

}  // namespace

Tensor basic_encoder(const StateDict& w, const std::string& pre, const Tensor& x, int stride) {
  check_image(x, 16, "the tracker's coarse encoder");  // four stride-2 stages
  const int64_t H = x.size(1), W = x.size(2);
  Tensor y = conv_in_relu(w, pre + ".conv1", x, 2, 3);
  std::vector<Tensor> levels;
  const int strides[4] = {1, 2, 2, 2};
  for (int l = 0; l < 4; ++l) {
    const std::string layer = pre + ".layer" + std::to_string(l + 1);
    y = residual_block(w, layer + ".0", y, strides[l]);
    y = residual_block(w, layer + ".1", y, 1);
    levels.push_back(y);
  }
  for (Tensor& t : levels) t = vggt::ops::interpolate_bilinear(t, H / stride, W / stride, true);
  Tensor z = conv_in_relu(w, pre + ".conv2", concat_channels(levels), 1, 1);
  return conv(w, pre + ".conv3", z, 1, 0);
}

Tensor shallow_encoder(const StateDict& w, const std::string& pre, const Tensor& x, int stride) {
  check_image(x, 4, "the tracker's fine encoder");
  const int64_t H = x.size(1), W = x.size(2);
  Tensor y = conv_in_relu(w, pre + ".conv1", x, 2, 1);
  Tensor tmp = residual_block(w, pre + ".layer1", y, 2);
  vggt::ops::add_(y, vggt::ops::interpolate_bilinear(tmp, y.size(1), y.size(2), true));
  tmp = residual_block(w, pre + ".layer2", tmp, 2);
  vggt::ops::add_(y, vggt::ops::interpolate_bilinear(tmp, y.size(1), y.size(2), true));
  Tensor z = conv(w, pre + ".conv2", y, 1, 0);
  vggt::ops::add_(z, y);
  return vggt::ops::interpolate_bilinear(z, H / stride, W / stride, true);
}

}  // namespace vg::tracks::detail
