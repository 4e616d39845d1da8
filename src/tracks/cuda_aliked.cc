#include "tracks/cuda_aliked.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "tracks/cuda_keypoint_kernels.h"
#include "tracks/cuda_keypoint_ops.h"

namespace vg::tracks {

namespace {

constexpr int64_t kDivBy = 32;  // InputPadder(div_by = 2**5)
constexpr int64_t kPart = 32;   // dim / 4 channels of each of the four concatenated parts (aliked-n16)
constexpr float kBnEps = 1e-5f;

// Eval BatchNorm `bn` folded into the bias-free conv weight w (nn_ops.cc batch_norm_'s scale and shift).
cuda::Conv upload_folded(const Tensor& w, const StateDict& sd, const std::string& bn, Device d, cuda::Precision p) {
  const Tensor &g = sd.at(bn + ".weight"), &beta = sd.at(bn + ".bias");
  const Tensor &mean = sd.at(bn + ".running_mean"), &var = sd.at(bn + ".running_var");
  const int64_t O = w.size(0), per = w.numel() / O;
  Tensor wf = w.clone(), bf = Tensor::empty({O});
  for (int64_t o = 0; o < O; ++o) {
    const float scale = g.data<float>()[o] / std::sqrt(var.data<float>()[o] + kBnEps);
    bf.data<float>()[o] = beta.data<float>()[o] - mean.data<float>()[o] * scale;
    for (int64_t i = 0; i < per; ++i) wf.data<float>()[o * per + i] *= scale;
  }
  return cuda::Conv::upload(wf, bf, d, p);
}

cuda::Conv upload(const StateDict& sd, const std::string& name, Device d, cuda::Precision p) {
  const std::string bias = name + ".bias";
  return cuda::Conv::upload(sd.at(name + ".weight"), sd.has(bias) ? sd.at(bias) : Tensor(), d, p);
}

void selu_(Tensor& x) { cuda::selu(x.data<float>(), x.numel()); }

Tensor avg_pool(const Tensor& x, int k) {
  Tensor y = Tensor::empty({1, x.size(1) / k, x.size(2) / k, x.size(3)}, DType::F32, x.device());
  cuda::avg_pool(x.data<float>(), x.size(1), x.size(2), x.size(3), k, y.data<float>());
  return y;
}

// aliked.cc input_padding: replicate padding up to multiples of 32, split (pad / 2, pad - pad / 2).
int64_t pad_before(int64_t n) { return ((n / kDivBy + 1) * kDivBy - n) % kDivBy / 2; }
int64_t padded(int64_t n) { return n + ((n / kDivBy + 1) * kDivBy - n) % kDivBy; }


}  // namespace

CudaAliked::CudaAliked(const Aliked& net, Device device, cuda::Precision p) : opt_(net.options()), device_(device) {
  VG_CHECK(device.is_cuda(), "CudaAliked: needs a CUDA device");
  set_current_device(device);
  const StateDict& sd = net.weights();
  for (int i = 0; i < 4; ++i) {
    const std::string pre = "block" + std::to_string(i + 1);
    const bool dcn = i >= 2;  // aliked-n16: block3 and block4 are deformable
    Block& b = blocks_[i];
    BlockConv* convs[2] = {&b.conv1, &b.conv2};
    for (int j = 0; j < 2; ++j) {
      const std::string c = pre + ".conv" + std::to_string(j + 1), bn = pre + ".bn" + std::to_string(j + 1);
      convs[j]->dcn = dcn;
      convs[j]->conv = upload_folded(sd.at(dcn ? c + ".regular_conv.weight" : c + ".weight"), sd, bn, device, p);
      if (dcn) convs[j]->offset = upload(sd, c + ".offset_conv", device, p);
    }
    if (i > 0) b.downsample = upload(sd, pre + ".downsample", device, p);
  }
  const Tensor& head0 = sd.at("score_head.0.weight");
  for (int k = 0; k < 4; ++k) {
    proj_[k] = upload(sd, "conv" + std::to_string(k + 1), device, p);
    head0_[k] = cuda::Conv::upload(aliked_weight_columns(head0, k * kPart, kPart), Tensor(), device, p);
  }
  for (int k = 0; k < 3; ++k) head_[k] = upload(sd, "score_head." + std::to_string(2 * k + 2), device, p);
}

// DeformableConv2d (aliked.py, mask=False): offsets from a 3x3 conv, clamped to +-max(h, w) / 4, then
// deform_conv2d with the regular conv's weight, padding 1; or a plain 3x3 conv.
Tensor CudaAliked::block_conv(const BlockConv& c, const Tensor& x) const {
  if (!c.dcn) return cuda::conv2d(x, c.conv, 1, 1);
  const Tensor offset = cuda::conv2d(x, c.offset, 1, 1);
  const float max_offset = static_cast<float>(std::max(x.size(1), x.size(2))) / 4.0f;
  return cuda::deform_conv2d(x, offset, c.conv, {1, 1, 1}, max_offset);
}

// ConvBlock: selu(bn1(conv1 x)), then selu(bn2(conv2 .)).
Tensor CudaAliked::conv_block(const Block& b, const Tensor& x) const {
  Tensor y = block_conv(b.conv1, x);
  selu_(y);
  y = block_conv(b.conv2, y);
  selu_(y);
  return y;
}

// ResBlock: selu(bn2(conv2 selu(bn1(conv1 x))) + downsample(x)).
Tensor CudaAliked::res_block(const Block& b, const Tensor& x) const {
  Tensor y = block_conv(b.conv1, x);
  selu_(y);
  y = block_conv(b.conv2, y);
  cuda::add_(y, cuda::conv2d(x, b.downsample, 1, 0));
  selu_(y);
  return y;
}

// As Aliked::score_map: score_head.0 applied per part before the align_corners upsampling it commutes with.
Tensor CudaAliked::score_map(const Tensor& image) const {
  check_aliked_image(image, opt_.nms_radius, "CudaAliked", false);
  set_current_device(device_);
  const Tensor img = cuda::image_on(image, device_);
  const int64_t H = image.size(1), W = image.size(2), Hp = padded(H), Wp = padded(W);
  const int64_t top = pad_before(H), left = pad_before(W);
  Tensor x0 = Tensor::empty({1, Hp, Wp, 3}, DType::F32, device_);
  cuda::image_to_padded_rgb(img.data<float>(), image.size(0), H, W, top, left, Hp, Wp, x0.data<float>());
  const Tensor x1 = conv_block(blocks_[0], x0);
  const Tensor x2 = res_block(blocks_[1], avg_pool(x1, 2));
  const Tensor x3 = res_block(blocks_[2], avg_pool(x2, 4));
  const Tensor x4 = res_block(blocks_[3], avg_pool(x3, 4));
  const Tensor* xs[4] = {&x1, &x2, &x3, &x4};
  Tensor s;
  for (int k = 0; k < 4; ++k) {
    Tensor f = cuda::conv2d(*xs[k], proj_[k], 1, 0);
    selu_(f);
    f = cuda::conv2d(f, head0_[k], 1, 0);
    if (k > 0) f = cuda::bilinear(f, Hp, Wp, true);
    if (k == 0)
      s = f;
    else
      cuda::add_(s, f);
  }
  for (const cuda::Conv& c : head_) {
    selu_(s);
    s = cuda::conv2d(s, c, 1, 1);
  }
  cuda::sigmoid(s.data<float>(), s.numel());
  Tensor out = Tensor::empty({1, H, W}, DType::F32, device_);  // [1, H, W, 1] cropped
  cuda::crop(s.data<float>(), Hp, Wp, 1, top, left, H, W, out.data<float>());
  return out;
}

// DKD: simple_nms and border removal on the device; the rest on the host from the downloaded maps.
Keypoints CudaAliked::detect(const Tensor& score_map) const {
  VG_CHECK(score_map.defined() && score_map.ndim() == 3 && score_map.size(0) == 1 && score_map.is_cuda(),
           "CudaAliked: expected a device score map [1,H,W]");
  set_current_device(device_);
  const int r = opt_.nms_radius;
  const int64_t H = score_map.size(1), W = score_map.size(2);
  VG_CHECK(H > 2 * r && W > 2 * r, "CudaAliked: score map ", W, "x", H, " has no pixel outside the border");
  Tensor nms = cuda::simple_nms_map(score_map, r);
  cuda::zero_border(nms.data<float>(), H, W, r);
  return detect_from_nms(score_map.to(Device::cpu()), nms.to_vector<float>(), opt_);
}

Keypoints CudaAliked::extract(const Tensor& image) const {
  check_aliked_image(image, opt_.nms_radius, "CudaAliked", false);
  check_aliked_extract_size(image, opt_, "CudaAliked");
  return detect(score_map(image));
}

}  // namespace vg::tracks
