// LPIPS (AlexNet, v0.1) on the CPU. The AlexNet backbone weights are not available here, so the
// network gets a seeded random backbone (He-initialised) and the real lpips v0.1 linear layers; the
// result is checked against an independent naive double-precision implementation of the same network
// on the lpips example patches, plus the metric's basic properties.
#include <gtest/gtest.h>

#include <png.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>

#include "core/error.h"
#include "core/fs.h"
#include "core/parallel.h"
#include "io/safetensors.h"
#include "metrics/conv2d.h"
#include "metrics/lpips.h"
#include "test_util.h"

namespace vg {
namespace {

fs::path lpips_dir() { return test::data_dir() / "lpips"; }

Tensor read_png_rgb(const fs::path& path) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  VG_CHECK(png_image_begin_read_from_file(&img, path.c_str()), "cannot read ", path.string());
  img.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> buf(PNG_IMAGE_SIZE(img));
  VG_CHECK(png_image_finish_read(&img, nullptr, buf.data(), 0, nullptr), "cannot decode ", path.string());
  std::vector<float> v(buf.size());
  for (size_t i = 0; i < buf.size(); ++i) v[i] = buf[i] / 255.0f;
  return Tensor::from_vector(v, {static_cast<int64_t>(img.height), static_cast<int64_t>(img.width), 3});
}

// Random AlexNet features (He init, small biases) + placeholder lin layers, seeded.
std::map<std::string, Tensor> synthetic_weights(uint32_t seed) {
  std::mt19937 rng(seed);
  std::map<std::string, Tensor> w;
  for (const auto& [name, shape] : Lpips::weight_shapes()) {
    if (name.rfind("lin", 0) == 0) {
      w[name] = test::uniform(shape, 0.f, 1.f, rng);
    } else if (shape.size() == 4) {
      float fan_in = static_cast<float>(shape[1] * shape[2] * shape[3]);
      w[name] = test::normal(shape, 0.f, std::sqrt(2.f / fan_in), rng);
    } else {
      w[name] = test::normal(shape, 0.f, 0.05f, rng);
    }
  }
  return w;
}

Lpips synthetic_lpips() {
  Lpips net = Lpips::from_weights(synthetic_weights(1234), "synthetic");
  net.load_linear_from_torch(lpips_dir() / "weights" / "v0.1" / "alex.pth");
  return net;
}

// ---- the naive reference: plain loops in double, written from the lpips/torchvision definitions ----

struct Map3 {
  int c = 0, h = 0, w = 0;
  std::vector<double> v;
  double& at(int ci, int y, int x) { return v[(static_cast<size_t>(ci) * h + y) * w + x]; }
  double at(int ci, int y, int x) const { return v[(static_cast<size_t>(ci) * h + y) * w + x]; }
};

Map3 naive_conv_relu(const Map3& in, const Tensor& weight, const Tensor& bias, int stride, int pad) {
  const int O = static_cast<int>(weight.size(0)), k = static_cast<int>(weight.size(2));
  const float* wt = weight.data<float>();
  const float* bs = bias.data<float>();
  Map3 out;
  out.c = O;
  out.h = (in.h + 2 * pad - k) / stride + 1;
  out.w = (in.w + 2 * pad - k) / stride + 1;
  out.v.assign(static_cast<size_t>(O) * out.h * out.w, 0.0);
  for (int o = 0; o < O; ++o)
    for (int y = 0; y < out.h; ++y)
      for (int x = 0; x < out.w; ++x) {
        double s = bs[o];
        for (int c = 0; c < in.c; ++c)
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
              int iy = y * stride - pad + ky, ix = x * stride - pad + kx;
              if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) continue;
              s += wt[((static_cast<size_t>(o) * in.c + c) * k + ky) * k + kx] * in.at(c, iy, ix);
            }
        out.at(o, y, x) = s > 0 ? s : 0;
      }
  return out;
}

Map3 naive_maxpool(const Map3& in) {
  Map3 out;
  out.c = in.c;
  out.h = (in.h - 3) / 2 + 1;
  out.w = (in.w - 3) / 2 + 1;
  out.v.assign(static_cast<size_t>(out.c) * out.h * out.w, 0.0);
  for (int c = 0; c < in.c; ++c)
    for (int y = 0; y < out.h; ++y)
      for (int x = 0; x < out.w; ++x) {
        double m = -INFINITY;
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) m = std::max(m, in.at(c, 2 * y + ky, 2 * x + kx));
        out.at(c, y, x) = m;
      }
  return out;
}

std::vector<Map3> naive_taps(const Tensor& img, const std::map<std::string, Tensor>& w) {
  const double shift[3] = {-.030f, -.088f, -.188f}, scale[3] = {.458f, .448f, .450f};  // float32 buffers
  Map3 x;
  x.c = 3;
  x.h = static_cast<int>(img.size(0));
  x.w = static_cast<int>(img.size(1));
  x.v.resize(static_cast<size_t>(3) * x.h * x.w);
  const float* p = img.data<float>();
  for (int y = 0; y < x.h; ++y)
    for (int xx = 0; xx < x.w; ++xx)
      for (int c = 0; c < 3; ++c)
        x.at(c, y, xx) = (2.0 * p[(static_cast<size_t>(y) * x.w + xx) * 3 + c] - 1.0 - shift[c]) / scale[c];
  std::vector<Map3> taps;
  x = naive_conv_relu(x, w.at("features.0.weight"), w.at("features.0.bias"), 4, 2);
  taps.push_back(x);
  x = naive_conv_relu(naive_maxpool(x), w.at("features.3.weight"), w.at("features.3.bias"), 1, 2);
  taps.push_back(x);
  x = naive_conv_relu(naive_maxpool(x), w.at("features.6.weight"), w.at("features.6.bias"), 1, 1);
  taps.push_back(x);
  x = naive_conv_relu(x, w.at("features.8.weight"), w.at("features.8.bias"), 1, 1);
  taps.push_back(x);
  x = naive_conv_relu(x, w.at("features.10.weight"), w.at("features.10.bias"), 1, 1);
  taps.push_back(x);
  return taps;
}

double naive_lpips(const Tensor& a, const Tensor& b, const std::map<std::string, Tensor>& w) {
  std::vector<Map3> ta = naive_taps(a, w), tb = naive_taps(b, w);
  double total = 0;
  for (int k = 0; k < 5; ++k) {
    const float* lin = w.at("lin" + std::to_string(k) + ".weight").data<float>();
    const Map3 &fa = ta[k], &fb = tb[k];
    double sum = 0;
    for (int y = 0; y < fa.h; ++y)
      for (int x = 0; x < fa.w; ++x) {
        double na = 0, nb = 0;
        for (int c = 0; c < fa.c; ++c) {
          na += fa.at(c, y, x) * fa.at(c, y, x);
          nb += fb.at(c, y, x) * fb.at(c, y, x);
        }
        na = std::sqrt(na) + 1e-10;
        nb = std::sqrt(nb) + 1e-10;
        for (int c = 0; c < fa.c; ++c) {
          double d = fa.at(c, y, x) / na - fb.at(c, y, x) / nb;
          sum += lin[c] * d * d;
        }
      }
    total += sum / (fa.h * fa.w);
  }
  return total;
}

Tensor add_noise(const Tensor& img, const Tensor& noise, float sigma) {
  std::vector<float> v = img.to_vector<float>(), n = noise.to_vector<float>();
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::clamp(v[i] + sigma * n[i], 0.f, 1.f);
  return Tensor::from_vector(v, img.shape());
}

// ---- tests --------------------------------------------------------------------------------------

TEST(Lpips, RealLinearLayersLoaded) {
  Lpips net = synthetic_lpips();
  const int64_t channels[5] = {64, 192, 384, 256, 256};
  for (int k = 0; k < 5; ++k) {
    EXPECT_EQ(net.lin_weight(k).shape(), Shape{channels[k]});
    for (float v : net.lin_weight(k).to_vector<float>()) EXPECT_GE(v, 0.f);
  }
}

TEST(Lpips, MatchesNaiveDoubleImplementation) {
  std::map<std::string, Tensor> w = synthetic_weights(1234);
  Lpips net = Lpips::from_weights(w, "synthetic");
  net.load_linear_from_torch(lpips_dir() / "weights" / "v0.1" / "alex.pth");
  for (int k = 0; k < 5; ++k) w["lin" + std::to_string(k) + ".weight"] = net.lin_weight(k);  // the real ones

  const Tensor ref = read_png_rgb(lpips_dir() / "imgs" / "ex_ref.png");
  const Tensor p0 = read_png_rgb(lpips_dir() / "imgs" / "ex_p0.png");
  const Tensor p1 = read_png_rgb(lpips_dir() / "imgs" / "ex_p1.png");
  ASSERT_EQ(ref.shape(), (Shape{64, 64, 3}));
  const std::pair<const Tensor*, const Tensor*> pairs[] = {{&ref, &p0}, {&ref, &p1}, {&p0, &p1}};
  for (const auto& [a, b] : pairs) {
    const double fast = net.distance(*a, *b), slow = naive_lpips(*a, *b, w);
    const double rel = std::abs(fast - slow) / slow;
    std::printf("lpips(synthetic alexnet) fast %.8f naive %.8f rel %.2e\n", fast, slow, rel);
    EXPECT_GT(slow, 0.0);
    EXPECT_LE(rel, 1e-5);
  }
}

TEST(Lpips, IdenticalSymmetricMonotone) {
  Lpips net = synthetic_lpips();
  const Tensor ref = read_png_rgb(lpips_dir() / "imgs" / "ex_ref.png");
  const Tensor p0 = read_png_rgb(lpips_dir() / "imgs" / "ex_p0.png");
  EXPECT_EQ(net.distance(ref, ref), 0.0);
  EXPECT_EQ(net.distance(ref, p0), net.distance(p0, ref));

  std::mt19937 rng(99);
  const Tensor noise = test::normal(ref.shape(), 0.f, 1.f, rng);
  double prev = 0;
  for (float sigma : {0.01f, 0.03f, 0.1f, 0.3f}) {
    const double d = net.distance(ref, add_noise(ref, noise, sigma));
    std::printf("noise sigma %.2f -> lpips %.6f\n", sigma, d);
    EXPECT_GT(d, prev) << sigma;
    prev = d;
  }
}

TEST(Lpips, SafetensorsWeightFileRoundTrip) {
  const std::map<std::string, Tensor> w = synthetic_weights(5);
  const fs::path path = fs::temp_directory_path() / ("vgsplat_lpips_" + std::to_string(getpid()) + ".safetensors");
  save_safetensors(path, w, {{"format", "vgsplat-lpips-alex-v0.1"}});
  Lpips from_file = Lpips::load(path);
  Lpips direct = Lpips::from_weights(w);
  std::mt19937 rng(3);
  const Tensor a = test::uniform({48, 40, 3}, 0.f, 1.f, rng), b = test::uniform({48, 40, 3}, 0.f, 1.f, rng);
  EXPECT_EQ(from_file.distance(a, b), direct.distance(a, b));

  // A file missing a key or holding a misshaped one is rejected with the key's name.
  SafetensorsWriter bad;
  for (const auto& [k, t] : w)
    if (k != "features.8.bias") bad.add(k, t);
  bad.write(path);
  try {
    Lpips::load(path);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("features.8.bias"), std::string::npos) << e.what();
  }
  bad.add("features.8.bias", Tensor::zeros({255}));
  bad.write(path);
  EXPECT_THROW(Lpips::load(path), Error);
  fs::remove(path);
  EXPECT_THROW(Lpips::load(path), Error);
}

TEST(Lpips, RejectsBadImages) {
  Lpips net = Lpips::from_weights(synthetic_weights(1));
  EXPECT_THROW(net.distance(Tensor::zeros({64, 64, 3}), Tensor::zeros({64, 63, 3})), Error);
  EXPECT_THROW(net.distance(Tensor::zeros({30, 64, 3}), Tensor::zeros({30, 64, 3})), Error);
  EXPECT_THROW(net.distance(Tensor::zeros({64, 64, 4}), Tensor::zeros({64, 64, 4})), Error);
  EXPECT_NO_THROW(net.distance(Tensor::zeros({31, 31, 3}), Tensor::zeros({31, 31, 3})));
}

TEST(Lpips, Conv2dMatchesDirectSum) {
  // A small odd-shaped case for stride/padding bookkeeping across GEMM blocks.
  std::mt19937 rng(11);
  const Tensor x = test::normal({5, 23, 17}, 0.f, 1.f, rng);
  const Tensor w = test::normal({7, 5, 3, 4}, 0.f, 1.f, rng), b = test::normal({7}, 0.f, 1.f, rng);
  const Tensor y = nn::conv2d(x, w, b, 2, 1);
  ASSERT_EQ(y.shape(), (Shape{7, 12, 8}));  // (17 + 2 - 4) / 2 + 1 = 8
  const float *xs = x.data<float>(), *ws = w.data<float>();
  std::vector<float> ref;
  for (int o = 0; o < 7; ++o)
    for (int oy = 0; oy < 12; ++oy)
      for (int ox = 0; ox < 8; ++ox) {
        double s = b.data<float>()[o];
        for (int c = 0; c < 5; ++c)
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 4; ++kx) {
              int iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
              if (iy >= 0 && iy < 23 && ix >= 0 && ix < 17)
                s += double(ws[((o * 5 + c) * 3 + ky) * 4 + kx]) * xs[(c * 23 + iy) * 17 + ix];
            }
        ref.push_back(static_cast<float>(s));
      }
  EXPECT_LE(test::rel_error(y.to_vector<float>(), ref), 1e-6);
  const Tensor pooled = nn::max_pool2d(y, 3, 2);
  EXPECT_EQ(pooled.shape(), (Shape{7, 5, 3}));
}

// With the real weight file (tools/make_lpips_weights.py --check; VGSPLAT_LPIPS_WEIGHTS=<file>) the
// example distances must match the lpips package's, stored in the file's metadata.
TEST(Lpips, RealWeightsMatchLpipsPackage) {
  std::optional<fs::path> path = Lpips::find_weights();
  if (!path) GTEST_SKIP() << "VGSPLAT_LPIPS_WEIGHTS not set (docs/lpips.md)";
  Lpips net = Lpips::load(*path);
  const std::map<std::string, std::string> meta = SafetensorsFile::open(*path).metadata();
  const Tensor ref = read_png_rgb(lpips_dir() / "imgs" / "ex_ref.png");
  for (const char* other : {"ex_p0", "ex_p1"}) {
    const double d = net.distance(ref, read_png_rgb(lpips_dir() / "imgs" / (std::string(other) + ".png")));
    std::printf("lpips(ex_ref, %s) = %.6f\n", other, d);
    auto it = meta.find(std::string("check.ex_ref.") + other);
    if (it == meta.end()) continue;
    const double expect = std::stod(it->second);
    EXPECT_NEAR(d, expect, 1e-4 * expect + 1e-6) << other;
  }
}

TEST(Lpips, Speed400x400) {
  Lpips net = Lpips::from_weights(synthetic_weights(2));
  std::mt19937 rng(4);
  const Tensor a = test::uniform({400, 400, 3}, 0.f, 1.f, rng), b = test::uniform({400, 400, 3}, 0.f, 1.f, rng);
  const auto t0 = std::chrono::steady_clock::now();
  const double d = net.distance(a, b);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("lpips 400x400 pair: %.1f ms (%d threads), d = %.5f\n", ms, num_threads(), d);
  EXPECT_TRUE(std::isfinite(d));
  EXPECT_GT(d, 0.0);
}

}  // namespace
}  // namespace vg
