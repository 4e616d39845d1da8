// dataset_dump: a training dataset exactly as `vgsplat train` loads it (normalised world, undistorted, downscaled,
// RGBA composited on the background, split), written to one safetensors file, so that another trainer
// (tools/gsplat_train.py: gsplat 1.6's simple_trainer loop) trains on the very same cameras and pixels.
//   dataset_dump --data-dir SCENE --out FILE.safetensors [--data-factor 1] [--test-every 8] [--background r,g,b]
//                [--no-normalize]
// Tensors: train_images U8 [N,H,W,3] (the 8-bit images the trainer's cache holds), test_images F32 [M,H,W,3]
// (what evaluation compares against), train_K / test_K F32 [.,3,3], train_viewmats / test_viewmats F32 [.,4,4]
// (world -> camera, OpenCV axes), points / colors F32 [P,3] when the dataset has sparse points. Metadata:
// scene_scale (gsplat parser.scene_scale, before the 1.1 factor), background, source, data_factor.
// All views of one split must have one size (true of NeRF-synthetic, instant-ngp and undistorted COLMAP scenes).
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/dataset.h"
#include "io/safetensors.h"
#include "splat/image_cache.h"

using namespace vg;

namespace {

std::array<float, 3> parse_rgb(const std::string& s) {
  if (s == "white") return {1, 1, 1};
  if (s == "black") return {0, 0, 0};
  std::array<float, 3> c{};
  VG_CHECK(std::sscanf(s.c_str(), "%f,%f,%f", &c[0], &c[1], &c[2]) == 3, "--background: expected r,g,b, got '", s, "'");
  return c;
}

// Images [N,H,W,3] (U8 quantised, or F32), intrinsics [N,3,3], viewmats [N,4,4] of one split.
void add_split(const Dataset& ds, const std::vector<View>& views, const std::string& split, bool as_u8,
               std::map<std::string, Tensor>& out) {
  if (views.empty()) return;
  const int64_t n = static_cast<int64_t>(views.size());
  const int H = views[0].camera.height, W = views[0].camera.width;
  const int64_t px = int64_t(H) * W * 3;
  std::vector<uint8_t> u8;
  std::vector<float> f32, K(n * 9, 0.0f), vm(n * 16);
  (as_u8 ? u8.resize(n * px) : f32.resize(n * px));
  for (int64_t i = 0; i < n; ++i) {
    const View& v = views[i];
    VG_CHECK(v.camera.height == H && v.camera.width == W, "dataset_dump: ", split, " view ", v.name, " is ",
             v.camera.width, "x", v.camera.height, ", the first is ", W, "x", H, " (one size per split)");
    Tensor img = ds.load_image(v);
    if (as_u8) {
      Tensor q = quantize_unorm8(img);
      std::copy(q.data<uint8_t>(), q.data<uint8_t>() + px, u8.begin() + i * px);
    } else {
      std::copy(img.data<float>(), img.data<float>() + px, f32.begin() + i * px);
    }
    float* k = &K[i * 9];
    k[0] = v.camera.fx, k[2] = v.camera.cx, k[4] = v.camera.fy, k[5] = v.camera.cy, k[8] = 1;
    std::copy(v.camera.viewmat.begin(), v.camera.viewmat.end(), vm.begin() + i * 16);
  }
  out[split + "_images"] = as_u8 ? Tensor::from_vector(u8, {n, H, W, 3}) : Tensor::from_vector(f32, {n, H, W, 3});
  out[split + "_K"] = Tensor::from_vector(K, {n, 3, 3});
  out[split + "_viewmats"] = Tensor::from_vector(vm, {n, 4, 4});
  std::printf("%s: %lld views of %dx%d\n", split.c_str(), static_cast<long long>(n), W, H);
}

}  // namespace

int main(int argc, char** argv) {
  DatasetOptions opt;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "dataset_dump: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--data-dir") opt.dir = next();
      else if (a == "--out") out = next();
      else if (a == "--data-factor") opt.data_factor = std::stoi(next());
      else if (a == "--test-every") opt.test_every = std::stoi(next());
      else if (a == "--background") opt.background = parse_rgb(next());
      else if (a == "--no-normalize") opt.normalize = false;
      else {
        std::fprintf(stderr, "dataset_dump: unknown option %s\n", a.c_str());
        return 2;
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "dataset_dump: %s: %s\n", a.c_str(), e.what());
      return 2;
    }
  }
  if (opt.dir.empty() || out.empty()) {
    std::fprintf(stderr, "usage: dataset_dump --data-dir SCENE --out FILE.safetensors [--data-factor F] "
                         "[--test-every N] [--background r,g,b|white|black] [--no-normalize]\n");
    return 2;
  }
  try {
    const Dataset ds = load_dataset(opt);
    std::map<std::string, Tensor> t;
    add_split(ds, ds.train, "train", true, t);
    add_split(ds, ds.test, "test", false, t);
    if (!ds.points.empty()) {
      const int64_t p = static_cast<int64_t>(ds.points.size() / 3);
      t["points"] = Tensor::from_vector(ds.points, {p, 3});
      t["colors"] = Tensor::from_vector(ds.colors, {p, 3});
    }
    char bg[64], scale[32];
    std::snprintf(bg, sizeof bg, "%.9g,%.9g,%.9g", ds.background[0], ds.background[1], ds.background[2]);
    std::snprintf(scale, sizeof scale, "%.9g", ds.scene_scale);
    save_safetensors(out, t,
                     {{"scene_scale", scale}, {"background", bg}, {"source", ds.source},
                      {"data_factor", std::to_string(ds.data_factor)}});
    std::printf("scene_scale %.6f, written %s\n", ds.scene_scale, out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dataset_dump: %s\n", e.what());
    return 1;
  }
  return 0;
}
