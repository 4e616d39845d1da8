// Backend-op cases for the keypoint detectors on the GPU (tracks/cuda_superpoint.h, tracks/cuda_aliked.h,
// tracks/cuda_keypoint_ops.h) against their CPU fp32 references: the deformable convolution (random inputs,
// offsets reaching outside the map, strides / dilation, the clamped ALIKED layer), LightGlue's simple_nms (maps
// with ties), and on the committed tiny fixtures the SuperPoint dense score map, the ALIKED score map and the
// keypoints both extract.
#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "tests/backend_ops.h"
#include "tests/test_util.h"
#include "tracks/aliked.h"
#include "tracks/cuda_aliked.h"
#include "tracks/cuda_keypoint_ops.h"
#include "tracks/cuda_superpoint.h"
#include "tracks/deform_conv.h"
#include "tracks/superpoint.h"

namespace vg::test {
namespace {

using tracks::cuda::Precision;

std::filesystem::path fixture(const char* name) { return source_dir() / "tests" / "data" / name; }

// [C,H,W] (host) -> [1,H,W,C] on d, and [1,H,W,C] (any device) -> [C,H,W] on the host.
Tensor to_nhwc(const Tensor& x, Device d) {
  const int64_t C = x.size(0), HW = x.size(1) * x.size(2);
  Tensor y = Tensor::empty({1, x.size(1), x.size(2), C});
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < HW; ++i) y.data<float>()[i * C + c] = x.data<float>()[c * HW + i];
  return y.to(d);
}
Tensor to_chw(const Tensor& x_dev) {
  const Tensor x = x_dev.to(Device::cpu());
  const int64_t H = x.size(1), W = x.size(2), C = x.size(3);
  Tensor y = Tensor::empty({C, H, W});
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < H * W; ++i) y.data<float>()[c * H * W + i] = x.data<float>()[i * C + c];
  return y;
}

void clamp_(Tensor& x, float m) {
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = std::min(std::max(x.data<float>()[i], -m), m);
}

// deform_conv2d (one offset group, no mask) on random data; offsets uniform in +-spread px, so taps land outside
// the map; max_offset < INFINITY also tests the clamp (applied to the CPU offsets beforehand).
OpOutputs run_deform_conv(Device d, int64_t C, int64_t H, int64_t W, int64_t O, tracks::ops::DeformConvGeometry geo,
                          float spread, float max_offset, Precision p, unsigned seed) {
  std::mt19937 rng(seed);
  const int k = 3;
  const int64_t Ho = (H + 2 * geo.pad - geo.dilation * (k - 1) - 1) / geo.stride + 1;
  const int64_t Wo = (W + 2 * geo.pad - geo.dilation * (k - 1) - 1) / geo.stride + 1;
  const Tensor x = normal({C, H, W}, 0.f, 1.f, rng), w = normal({O, C, k, k}, 0.f, 0.2f, rng);
  const Tensor b = uniform({O}, -1.f, 1.f, rng);
  Tensor off = uniform({2 * k * k, Ho, Wo}, -spread, spread, rng);
  if (d.is_cpu()) {
    if (std::isfinite(max_offset)) clamp_(off, max_offset);
    return {{"y", tracks::ops::deform_conv2d(x, off, w, b, Tensor(), geo)}};
  }
  const tracks::cuda::Conv conv = tracks::cuda::Conv::upload(w, b, d, p);
  return {{"y", to_chw(tracks::cuda::deform_conv2d(to_nhwc(x, d), to_nhwc(off, d), conv, geo, max_offset))}};
}

// ALIKED's block3.conv1 (DeformableConv2d: offset conv, clamp to +-max(H, W) / 4, deform_conv2d) on the fixture's
// weights and feature map, vs Aliked::deformable_conv.
OpOutputs run_aliked_dcn_layer(Device d) {
  const tracks::Aliked net = tracks::Aliked::load(fixture("aliked_tiny.pt"), {.resize = 0});
  const Tensor x = SafetensorsFile::open(fixture("aliked_tiny.safetensors")).get("dcn_in");
  if (d.is_cpu()) return {{"y", net.deformable_conv("block3.conv1", x)}};
  const StateDict& sd = net.weights();
  const auto off_conv = tracks::cuda::Conv::upload(sd.at("block3.conv1.offset_conv.weight"),
                                                   sd.at("block3.conv1.offset_conv.bias"), d);
  const auto reg_conv = tracks::cuda::Conv::upload(sd.at("block3.conv1.regular_conv.weight"), Tensor(), d);
  const Tensor xd = to_nhwc(x, d), offset = tracks::cuda::conv2d(xd, off_conv, 1, 1);
  const float max_offset = static_cast<float>(std::max(x.size(1), x.size(2))) / 4.0f;
  return {{"y", to_chw(tracks::cuda::deform_conv2d(xd, offset, reg_conv, {1, 1, 1}, max_offset))}};
}

// simple_nms on a map with plateaus (values on a coarse grid: many ties) and zero regions.
OpOutputs run_simple_nms(Device d, int64_t H, int64_t W, int r, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(H * W));
  for (float& s : v) {
    const float a = u(rng);
    s = a < 0.3f ? 0.0f : std::floor(a * 16.0f) / 16.0f;
  }
  const Tensor s = Tensor::from_vector(v, {H, W});
  if (d.is_cpu()) return {{"nms", tracks::simple_nms(s, r)}};
  return {{"nms", tracks::cuda::simple_nms_map(s.to(d), r).to(Device::cpu())}};
}

tracks::SuperPoint tiny_superpoint(int max_keypoints) {
  tracks::SuperPointOptions o;
  o.max_keypoints = max_keypoints;
  o.resize = 0;
  return tracks::SuperPoint::load(fixture("superpoint_tiny.pt"), o, {8, 8, 16, 16, 32});
}

Tensor fixture_image(const char* file, const std::string& key) { return SafetensorsFile::open(fixture(file)).get(key); }

OpOutputs run_superpoint_dense(Device d, int image, Precision p) {
  const tracks::SuperPoint sp = tiny_superpoint(0);
  const Tensor img = fixture_image("superpoint_tiny.safetensors", "image" + std::to_string(image));
  if (d.is_cpu()) return {{"dense", sp.dense_scores(img)}};
  return {{"dense", tracks::CudaSuperPoint(sp, d, p).dense_scores(img).to(Device::cpu())}};
}

// Keypoints sorted by position (y, x) (ties in score may order differently): "xy" (exact: integer pixels) or
// "scores" in that order.
OpOutputs run_superpoint_keypoints(Device d, int image, int max_keypoints, bool xy) {
  const tracks::SuperPoint sp = tiny_superpoint(max_keypoints);
  const Tensor img = fixture_image("superpoint_tiny.safetensors", "image" + std::to_string(image));
  const tracks::Keypoints kp = d.is_cpu() ? sp.extract(img) : tracks::CudaSuperPoint(sp, d).extract(img);
  const std::vector<float> p = kp.xy.to_vector<float>(), s = kp.scores.to_vector<float>();
  std::vector<std::tuple<float, float, float>> rows;
  for (size_t i = 0; i < s.size(); ++i) rows.emplace_back(p[2 * i + 1], p[2 * i], s[i]);
  std::sort(rows.begin(), rows.end());
  std::vector<float> out;
  for (const auto& [y, x, sc] : rows) {
    if (xy) {
      out.push_back(x);
      out.push_back(y);
    } else {
      out.push_back(sc);
    }
  }
  const int64_t n = static_cast<int64_t>(rows.size());
  return {{xy ? "xy" : "scores", Tensor::from_vector(out, xy ? Shape{n, 2} : Shape{n})}};
}

OpOutputs run_aliked_score_map(Device d, Precision p) {
  const tracks::Aliked net = tracks::Aliked::load(fixture("aliked_tiny.pt"), {.resize = 0});
  const Tensor img = fixture_image("aliked_tiny.safetensors", "image");
  if (d.is_cpu()) return {{"score_map", net.score_map(img)}};
  return {{"score_map", tracks::CudaAliked(net, d, p).score_map(img).to(Device::cpu())}};
}

// extract() with one of the fixture's configurations: keypoints in the returned order (raster order of the
// maxima; by score where a limit cuts), and scores.
OpOutputs run_aliked_keypoints(Device d, const std::string& config) {
  const auto configs = nlohmann::json::parse(
      SafetensorsFile::open(fixture("aliked_tiny.safetensors")).metadata().at("configs"));
  const auto& c = configs.at(config);
  tracks::AlikedOptions o;
  o.max_keypoints = c.at("max_num_keypoints").get<int>();
  o.detection_threshold = c.at("detection_threshold").get<float>();
  o.resize = 0;
  const tracks::Aliked net = tracks::Aliked::load(fixture("aliked_tiny.pt"), o);
  const Tensor img = fixture_image("aliked_tiny.safetensors", "image");
  const tracks::Keypoints kp = d.is_cpu() ? net.extract(img) : tracks::CudaAliked(net, d).extract(img);
  return {{"xy", kp.xy}, {"scores", kp.scores}};
}

RegisterOps reg([](std::vector<OpCase>& cases) {
  using Geo = tracks::ops::DeformConvGeometry;
  cases.push_back({"kp_deform_conv/s1p1", [](Device d) {
                     return run_deform_conv(d, 8, 13, 17, 6, Geo{1, 1, 1}, 4.f, INFINITY, Precision::F32, 81u);
                   }, 1e-5});
  cases.push_back({"kp_deform_conv/far_outside", [](Device d) {
                     return run_deform_conv(d, 5, 9, 7, 4, Geo{1, 1, 1}, 12.f, INFINITY, Precision::F32, 82u);
                   }, 1e-5});
  cases.push_back({"kp_deform_conv/s2p0d2", [](Device d) {
                     return run_deform_conv(d, 3, 15, 12, 5, Geo{2, 0, 2}, 3.f, INFINITY, Precision::F32, 83u);
                   }, 1e-5});
  cases.push_back({"kp_deform_conv/clamped", [](Device d) {
                     return run_deform_conv(d, 16, 12, 10, 8, Geo{1, 1, 1}, 6.f, 3.f, Precision::F32, 84u);
                   }, 1e-5});
  cases.push_back({"kp_deform_conv/bf16", [](Device d) {
                     return run_deform_conv(d, 32, 16, 16, 24, Geo{1, 1, 1}, 3.f, 4.f, Precision::BF16, 85u);
                   }, 1e-2});
  cases.push_back({"kp_deform_conv/aliked_block3_conv1", [](Device d) { return run_aliked_dcn_layer(d); }, 1e-5});
  for (auto [H, W, r] : {std::tuple{40, 57, 4}, std::tuple{33, 29, 2}, std::tuple{8, 64, 0}})
    cases.push_back({"kp_simple_nms/" + std::to_string(H) + "x" + std::to_string(W) + "r" + std::to_string(r),
                     [H = H, W = W, r = r](Device d) { return run_simple_nms(d, H, W, r, 90u + r); }, 0.0});
  for (int i = 0; i < 2; ++i) {
    const std::string n = std::to_string(i);
    cases.push_back({"kp_superpoint_dense/fp32/image" + n,
                     [i](Device d) { return run_superpoint_dense(d, i, Precision::F32); }, 1e-5});
    for (int k : {0, 48, 200}) {
      const std::string s = "/image" + n + "/k" + std::to_string(k);
      cases.push_back({"kp_superpoint_keypoints/xy" + s,
                       [i, k](Device d) { return run_superpoint_keypoints(d, i, k, true); }, 0.0});
      cases.push_back({"kp_superpoint_keypoints/scores" + s,
                       [i, k](Device d) { return run_superpoint_keypoints(d, i, k, false); }, 1e-5});
    }
  }
  cases.push_back({"kp_superpoint_dense/bf16/image0",
                   [](Device d) { return run_superpoint_dense(d, 0, Precision::BF16); }, 5e-2});
  cases.push_back({"kp_aliked_score_map/fp32", [](Device d) { return run_aliked_score_map(d, Precision::F32); }, 1e-4});
  cases.push_back({"kp_aliked_score_map/bf16", [](Device d) { return run_aliked_score_map(d, Precision::BF16); }, 5e-2});
  for (const char* config : {"default", "limit", "topk", "fallback"})
    cases.push_back({std::string("kp_aliked_keypoints/") + config,
                     [c = std::string(config)](Device d) { return run_aliked_keypoints(d, c); }, 1e-4});
});

}  // namespace
}  // namespace vg::test
