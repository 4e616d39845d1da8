// Pipeline P2's output stage (demo_colmap.py without --use_ba) and `vgsplat vggt` end to end on the tiny
// fixture weights: numpy's legacy RNG, unprojection, the COLMAP model, renaming and rescaling, files.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>

#include <unistd.h>

#include "core/error.h"
#include "core/fs.h"
#include "io/colmap.h"
#include "io/image.h"
#include "io/safetensors.h"
#include "pipeline/runner_vggt.h"
#include "test_util.h"
#include "vggt_test_util.h"
#include "vggt/engine.h"
#include "vggt/export.h"
#include "vggt/model.h"
#include "vggt/preprocess.h"

namespace vg::vggt {
namespace {

namespace fs = std::filesystem;

fs::path fixture(const char* name) { return test::source_dir() / "tests" / "data" / name; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const vg::Error& e) {
    return e.what();
  }
  return "";
}

// A temp folder removed at the end of the test.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name) : path(fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// Values printed by numpy 1.24: np.random.seed(42); np.random.permutation(10), and seed 7 / 1000.
TEST(VggtExport, NumpyLegacyRandomMatchesNumpy) {
  NumpyLegacyRandom a(42);
  EXPECT_EQ(a.permutation(10), (std::vector<int64_t>{8, 1, 5, 0, 7, 2, 9, 4, 3, 6}));
  NumpyLegacyRandom b(7);
  const std::vector<int64_t> p = b.permutation(1000);
  EXPECT_EQ(std::vector<int64_t>(p.begin(), p.begin() + 8), (std::vector<int64_t>{778, 334, 271, 802, 216, 408, 812, 94}));
  NumpyLegacyRandom c(5);
  const std::vector<int64_t> q = c.permutation(70000);
  EXPECT_EQ(std::vector<int64_t>(q.begin(), q.begin() + 5), (std::vector<int64_t>{6628, 2777, 7414, 63950, 44249}));
}

// np.random.seed(42); sorted(np.random.choice(np.flatnonzero(mask), 5, replace=False)) = [1, 11, 30, 40, 41].
TEST(VggtExport, RandomlyLimitTruesMatchesNumpy) {
  std::vector<uint8_t> mask(50, 0);
  for (int i : {1, 3, 4, 8, 10, 11, 20, 25, 26, 30, 33, 40, 41, 49}) mask[i] = 1;
  NumpyLegacyRandom rng(42);
  EXPECT_EQ(randomly_limit_trues(mask, 5, rng), (std::vector<int64_t>{1, 11, 30, 40, 41}));
  NumpyLegacyRandom rng2(42);  // within budget: every set entry, no draw
  EXPECT_EQ(randomly_limit_trues(mask, 14, rng2).size(), 14u);
}

// A camera at C = (1, 2, 3) looking along world +x (R rows: camera x = world -y, y = -z, z = +x).
TEST(VggtExport, UnprojectInvertsTheProjection) {
  const int64_t H = 6, W = 8;
  const float R[9] = {0, -1, 0, 0, 0, -1, 1, 0, 0}, C[3] = {1, 2, 3};
  std::vector<float> E(12);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) E[i * 4 + j] = R[i * 3 + j];
    E[i * 4 + 3] = -(R[i * 3] * C[0] + R[i * 3 + 1] * C[1] + R[i * 3 + 2] * C[2]);
  }
  const std::vector<float> K = {5, 0, 4, 0, 6, 3, 0, 0, 1};
  std::vector<float> depth(H * W);
  for (int64_t i = 0; i < H * W; ++i) depth[i] = 1.0f + 0.25f * static_cast<float>(i % 7);
  const std::vector<double> pts = unproject_depth_map_to_point_map(
      Tensor::from_vector(depth, {1, H, W}), Tensor::from_vector(E, {1, 3, 4}), Tensor::from_vector(K, {1, 3, 3}));
  ASSERT_EQ(pts.size(), static_cast<size_t>(H * W * 3));
  for (int64_t v = 0; v < H; ++v)
    for (int64_t u = 0; u < W; ++u) {
      const double* X = &pts[(v * W + u) * 3];
      double cam[3];
      for (int i = 0; i < 3; ++i) cam[i] = R[i * 3] * X[0] + R[i * 3 + 1] * X[1] + R[i * 3 + 2] * X[2] + E[i * 4 + 3];
      EXPECT_NEAR(cam[2], depth[v * W + u], 1e-5);
      EXPECT_NEAR(5 * cam[0] / cam[2] + 4, static_cast<double>(u), 1e-4);
      EXPECT_NEAR(6 * cam[1] / cam[2] + 3, static_cast<double>(v), 1e-4);
    }
  // Pixel (4, 3) (the principal point) at depth d lies at C + d * (1, 0, 0).
  const double* X = &pts[(3 * W + 4) * 3];
  const double d = depth[3 * W + 4];
  EXPECT_NEAR(X[0], 1 + d, 1e-6);
  EXPECT_NEAR(X[1], 2, 1e-6);
  EXPECT_NEAR(X[2], 3, 1e-6);
}

// rename_colmap_recons_and_rescale_camera by hand: an 800 x 534 photo, model at 518 px.
TEST(VggtExport, RenameAndRescaleByHand) {
  ColmapModel m;
  m.cameras[1] = {1, "PINHOLE", 518, 518, {400.0, 410.0, 259.0, 259.0}};
  ColmapImage im;
  im.id = 1;
  im.camera_id = 1;
  im.name = "image_1";
  im.xys = {300.0, 200.0};
  im.point3D_ids = {1};
  m.images[1] = im;
  // original_coords as load_and_preprocess_square: top = 133 * 1.28 in 1024 px, width 800, height 534.
  const Tensor oc = Tensor::from_vector(std::vector<float>{0.0f, 170.24f, 1024.0f, 853.76f, 800.0f, 534.0f}, {1, 6});
  rename_and_rescale(m, {"00.png"}, oc, 518);
  const double ratio = static_cast<double>(800.0f / 518.0f);  // float32, as numpy computes it
  EXPECT_NEAR(ratio, 1.5444015444, 1e-7);
  const ColmapCamera& c = m.cameras.at(1);
  EXPECT_EQ(m.images.at(1).name, "00.png");
  EXPECT_EQ(c.width, 800);
  EXPECT_EQ(c.height, 534);
  EXPECT_DOUBLE_EQ(c.params[0], 400.0 * ratio);  // 617.76...
  EXPECT_DOUBLE_EQ(c.params[1], 410.0 * ratio);
  EXPECT_DOUBLE_EQ(c.params[2], 400.0);  // principal point at the original centre
  EXPECT_DOUBLE_EQ(c.params[3], 267.0);
  EXPECT_DOUBLE_EQ(m.images.at(1).xys[0], 300.0 * ratio);
  EXPECT_DOUBLE_EQ(m.images.at(1).xys[1], (200.0 - static_cast<double>(170.24f)) * ratio);
}

// Synthetic predictions: the threshold, the limit, ids, one-observation tracks and truncated colours.
TEST(VggtExport, PredictionsToColmapModel) {
  const int64_t S = 2, H = 4, W = 5, HW = H * W;
  std::vector<float> ext(S * 12, 0.0f), K(S * 9, 0.0f), depth(S * HW, 2.0f), conf(S * HW), img(S * 3 * HW);
  for (int64_t s = 0; s < S; ++s) {
    ext[s * 12 + 0] = ext[s * 12 + 5] = ext[s * 12 + 10] = 1.0f;
    ext[s * 12 + 3] = static_cast<float>(s);
    K[s * 9 + 0] = 3;
    K[s * 9 + 4] = 4;
    K[s * 9 + 2] = 2.5f;
    K[s * 9 + 5] = 2;
    K[s * 9 + 8] = 1;
  }
  for (int64_t i = 0; i < S * HW; ++i) conf[i] = 1.0f + static_cast<float>(i % 9);  // 1..9
  for (int64_t i = 0; i < S * 3 * HW; ++i) img[i] = static_cast<float>(i % 256) / 255.0f * 0.999f;
  VggtPredictions p;
  p.extrinsics = Tensor::from_vector(ext, {S, 3, 4});
  p.intrinsics = Tensor::from_vector(K, {S, 3, 3});
  p.depth = Tensor::from_vector(depth, {S, H, W});
  p.conf = Tensor::from_vector(conf, {S, H, W});
  p.images_model = Tensor::from_vector(img, {S, 3, H, W});
  p.original_coords = Tensor::zeros({S, 6});
  p.names = {"a.png", "b.png"};
  ExportOptions opt;
  opt.conf_thres = 5.0f;
  opt.max_points = 1000;
  ExportResult all = predictions_to_colmap(p, opt);
  int64_t want = 0;
  for (float c : conf) want += c >= 5.0f;
  EXPECT_EQ(all.confident, want);
  ASSERT_EQ(static_cast<int64_t>(all.model.points.size()), want);
  opt.max_points = 7;
  ExportResult r = predictions_to_colmap(p, opt);
  ASSERT_EQ(r.model.points.size(), 7u);
  EXPECT_EQ(r.model.cameras.size(), 2u);
  for (const auto& [id, cam] : r.model.cameras) {
    EXPECT_EQ(cam.model, "PINHOLE");
    EXPECT_EQ(cam.params, (std::vector<double>{3, 4, 2.5, 2}));
  }
  uint64_t expect_id = 1;
  for (const auto& [id, pt] : r.model.points) {
    EXPECT_EQ(id, expect_id++);
    const int64_t f = r.flat_index[id - 1], s = f / HW, y = (f % HW) / W, x = f % W;
    EXPECT_GE(conf[f], 5.0f);
    ASSERT_EQ(pt.track.size(), 1u);
    const ColmapImage& im = r.model.images.at(pt.track[0].first);
    EXPECT_EQ(im.id, static_cast<uint32_t>(s + 1));
    EXPECT_EQ(im.point3D_ids[pt.track[0].second], static_cast<int64_t>(id));
    EXPECT_EQ(im.xys[2 * pt.track[0].second], static_cast<double>(x));
    EXPECT_EQ(im.xys[2 * pt.track[0].second + 1], static_cast<double>(y));
    for (int a = 0; a < 3; ++a)
      EXPECT_EQ(pt.rgb[a], static_cast<uint8_t>(img[(s * 3 + a) * HW + y * W + x] * 255.0f));
    // Camera s sits at (-s, 0, 0): depth 2 along +z.
    EXPECT_NEAR(pt.xyz[2], 2.0, 1e-6);
    EXPECT_NEAR(pt.xyz[0], (x - 2.5) * 2.0 / 3.0 - static_cast<double>(s), 1e-6);
  }
  EXPECT_NE(error_of([&] {
              VggtPredictions bad = p;
              bad.names.pop_back();
              predictions_to_colmap(bad, opt);
            }),
            "");
}

fs::path make_scene(const fs::path& root) { return test::write_small_scene(root); }

VggtRunOptions tiny_options() {
  VggtRunOptions o;
  o.weights = fixture("vggt_tiny.pt").string();
  o.config = "tiny";
  return o;
}

std::string read_bytes(const fs::path& p) { return read_file(p); }

TEST(VggtExport, TinyEndToEndWritesOriginalResolutionModel) {
  TempDir tmp("vggt_export_e2e");
  const fs::path scene = make_scene(tmp.path);
  VggtRunOptions o = tiny_options();
  // The confidences of the network on these images, to pick a threshold that splits them.
  const VggtConfig cfg = VggtConfig::tiny();
  const std::vector<fs::path> files = list_scene_images(scene);
  ASSERT_EQ(files.size(), 3u);
  PreprocessedImages pre = load_and_preprocess_square(files, 1024, 518);
  auto t0 = std::chrono::steady_clock::now();
  const VggtOutput net = VggtModel(cfg, load_weights(fixture("vggt_tiny.pt"), cfg, false)).forward(pre.images_model);
  std::printf("  tiny forward, 3 frames 518x518: %.2f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  std::vector<float> conf = net.depth_conf.to_vector<float>();
  std::vector<float> sorted = conf;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  o.exp.conf_thres = sorted[sorted.size() / 2];
  o.exp.max_points = 5000;
  o.write_txt = true;

  t0 = std::chrono::steady_clock::now();
  const VggtRunStats st = run_vggt_p2(scene, tmp.path / "out", o);
  std::printf("  run_vggt_p2 (tiny, 3 images): %.2f s, %s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), st.message.c_str());
  EXPECT_GE(st.confident, static_cast<int64_t>(conf.size() / 2) - 1);
  EXPECT_EQ(st.points, 5000);
  const ColmapModel m = read_colmap_model(tmp.path / "out" / "sparse");
  EXPECT_TRUE(fs::exists(tmp.path / "out" / "sparse" / "points.ply"));
  EXPECT_TRUE(fs::exists(tmp.path / "out" / "sparse" / "cameras.txt"));
  ASSERT_EQ(m.images.size(), 3u);
  ASSERT_EQ(m.cameras.size(), 3u);
  EXPECT_EQ(m.points.size(), 5000u);
  // Names sorted: frame_a (40x56), frame_b (64x48), zz (50x50).
  const char* names[3] = {"frame_a.png", "frame_b.png", "zz.png"};
  const int sizes[3][2] = {{40, 56}, {64, 48}, {50, 50}};
  const std::vector<float> oc = pre.original_coords.to_vector<float>();
  for (uint32_t id = 1; id <= 3; ++id) {
    const ColmapImage& im = m.images.at(id);
    const ColmapCamera& cam = m.cameras.at(im.camera_id);
    EXPECT_EQ(im.name, names[id - 1]);
    EXPECT_EQ(cam.model, "PINHOLE");
    EXPECT_EQ(cam.width, sizes[id - 1][0]);
    EXPECT_EQ(cam.height, sizes[id - 1][1]);
    EXPECT_DOUBLE_EQ(cam.params[2], sizes[id - 1][0] / 2.0);
    EXPECT_DOUBLE_EQ(cam.params[3], sizes[id - 1][1] / 2.0);
    // Focal: the network's at 518 times max(w, h) / 518.
    const float ratio = static_cast<float>(std::max(sizes[id - 1][0], sizes[id - 1][1])) / 518.0f;
    EXPECT_NEAR(cam.params[0], net.intrinsics.to_vector<float>()[(id - 1) * 9] * static_cast<double>(ratio), 1e-3);
    // Every observation maps back to a 518 pixel whose confidence passed the threshold.
    for (size_t k = 0; k < im.point3D_ids.size(); ++k) {
      const double x = im.xys[2 * k] / ratio + oc[(id - 1) * 6 + 0];
      const double y = im.xys[2 * k + 1] / ratio + oc[(id - 1) * 6 + 1];
      const int64_t xi = std::llround(x), yi = std::llround(y);
      ASSERT_NEAR(x, static_cast<double>(xi), 1e-3);
      ASSERT_TRUE(xi >= 0 && xi < 518 && yi >= 0 && yi < 518);
      EXPECT_GE(conf[(id - 1) * 518 * 518 + yi * 518 + xi], o.exp.conf_thres);
    }
  }
}

TEST(VggtExport, DeterministicWithTheSeed) {
  TempDir tmp("vggt_export_seed");
  const fs::path scene = make_scene(tmp.path);
  VggtRunOptions o = tiny_options();
  o.model_size = 140;  // small: the sampling is under test
  o.load_size = 256;
  o.exp.conf_thres = 1.5f;
  o.exp.max_points = 2000;
  const fs::path a = tmp.path / "a", b = tmp.path / "b", c = tmp.path / "c";
  run_vggt_p2(scene, a, o);
  run_vggt_p2(scene, b, o);
  EXPECT_EQ(read_bytes(a / "sparse" / "points3D.bin"), read_bytes(b / "sparse" / "points3D.bin"));
  EXPECT_EQ(read_bytes(a / "sparse" / "images.bin"), read_bytes(b / "sparse" / "images.bin"));
  EXPECT_EQ(read_bytes(a / "sparse" / "points.ply"), read_bytes(b / "sparse" / "points.ply"));
  o.exp.seed = 7;
  run_vggt_p2(scene, c, o);
  EXPECT_NE(read_bytes(c / "sparse" / "points3D.bin"), read_bytes(a / "sparse" / "points3D.bin"));
  EXPECT_EQ(read_colmap_model(c / "sparse").points.size(), 2000u);
}

// --point-head: points and confidences from the point head (world_points, world_points_conf).
TEST(VggtExport, PointHeadPoints) {
  TempDir tmp("vggt_export_pointhead");
  const fs::path scene = make_scene(tmp.path);
  VggtRunOptions o = tiny_options();
  o.model_size = 56;
  o.load_size = 112;
  o.point_head = true;
  o.exp.conf_thres = 1.0f;
  o.exp.max_points = 100000;
  const VggtRunStats st = run_vggt_p2(scene, tmp.path / "out", o);
  EXPECT_EQ(st.points, 3 * 56 * 56);  // every pixel: confidence 1 + exp(.) > 1
  const std::vector<fs::path> files = list_scene_images(scene);
  const PreprocessedImages pre = load_and_preprocess_square(files, 112, 56);
  const VggtConfig cfg = VggtConfig::tiny();
  const VggtOutput net = VggtModel(cfg, load_weights(fixture("vggt_tiny.pt"), cfg, true))
                             .forward(pre.images_model, {.point_head = true});
  const std::vector<float> wp = net.world_points.to_vector<float>();
  const ColmapModel m = read_colmap_model(tmp.path / "out" / "sparse");
  for (uint64_t id : {uint64_t{1}, uint64_t{777}, uint64_t{3 * 56 * 56}})
    for (int a = 0; a < 3; ++a) EXPECT_NEAR(m.points.at(id).xyz[a], wp[(id - 1) * 3 + a], 1e-4) << id;
}

TEST(VggtExport, NeverWritesIntoTheScene) {
  TempDir tmp("vggt_export_inplace");
  const fs::path scene = make_scene(tmp.path);
  const VggtRunOptions o = tiny_options();
  for (const fs::path& out : {scene, scene / "images", scene / "sub"}) {
    const std::string msg = error_of([&] { run_vggt_p2(scene, out, o); });
    EXPECT_NE(msg.find("inside the input scene"), std::string::npos) << msg;
  }
  EXPECT_FALSE(fs::exists(scene / "sparse"));
}

TEST(VggtExport, NoWeightsNamesTheFileAndModelPage) {
  TempDir tmp("vggt_export_noweights");
  const fs::path scene = make_scene(tmp.path);
  unsetenv("VGSPLAT_VGGT_WEIGHTS");
  VggtRunOptions o = tiny_options();
  o.weights.clear();
  const std::string msg = error_of([&] { run_vggt_p2(scene, tmp.path / "out", o); });
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("facebook/VGGT-1B"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(tmp.path / "out" / "sparse"));
  // The environment variable is the fallback.
  setenv("VGSPLAT_VGGT_WEIGHTS", fixture("vggt_tiny.pt").c_str(), 1);
  o.exp.max_points = 10;
  o.exp.conf_thres = 1.0f;  // confidence = 1 + exp(.) > 1: every point qualifies
  o.model_size = 56;  // small: only the weights resolution is under test
  o.load_size = 112;
  EXPECT_EQ(run_vggt_p2(scene, tmp.path / "out", o).points, 10);
  unsetenv("VGSPLAT_VGGT_WEIGHTS");
}

// A DINOv2 checkpoint (the backbone alone) is not VGGT: the message lists the missing aggregator keys.
TEST(VggtExport, WrongWeightsListMissingKeys) {
  TempDir tmp("vggt_export_dino");
  const fs::path scene = make_scene(tmp.path);
  SafetensorsWriter wr;
  for (const char* k : {"cls_token", "pos_embed", "register_tokens", "mask_token", "patch_embed.proj.weight",
                        "blocks.0.attn.qkv.weight", "norm.weight"})
    wr.add(k, Tensor::zeros({2}));
  const fs::path dino = tmp.path / "dinov2_vitl14_reg4.safetensors";
  wr.write(dino);
  VggtRunOptions o = tiny_options();
  o.weights = dino.string();
  const std::string msg = error_of([&] { run_vggt_p2(scene, tmp.path / "out", o); });
  EXPECT_NE(msg.find("missing keys: aggregator."), std::string::npos) << msg;
  EXPECT_NE(msg.find("dinov2_vitl14_reg4.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("facebook/VGGT-1B"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(tmp.path / "out" / "sparse"));
}

// `vgsplat run P2`: the vggt stage in the results-folder runner.
TEST(VggtExport, P2StageInTheRunner) {
  TempDir tmp("vggt_export_runner");
  const fs::path scene = make_scene(tmp.path);
  VggtRunOptions o = tiny_options();
  o.model_size = 56;
  o.load_size = 112;
  o.exp.conf_thres = 1.0f;
  o.exp.max_points = 300;
  RunOptions ro;
  ro.results_root = tmp.path / "results";
  ro.device = "cpu";
  const RunReport r = run_pipeline(Pipeline{"P2", {vggt_stage(o)}}, scene, ro);
  EXPECT_EQ(r.result_dir.filename().string().rfind("P2_scene_", 0), 0u) << r.result_dir;
  const ColmapModel m = read_colmap_model(find_colmap_model(r.result_dir));
  EXPECT_EQ(m.images.size(), 3u);
  EXPECT_EQ(m.points.size(), 300u);
  EXPECT_TRUE(fs::exists(r.result_dir / "images" / "zz.png"));
  EXPECT_TRUE(fs::exists(r.result_dir / "metadata.json"));
  ASSERT_TRUE(r.analysis.contains("vggt"));
  EXPECT_EQ(r.analysis["vggt"]["points3D"].get<int64_t>(), 300);
  EXPECT_EQ(r.analysis["vggt"]["images"].get<int>(), 3);
  EXPECT_EQ(r.analysis["vggt"]["engine"].get<std::string>(), "cpu");
  EXPECT_EQ(r.analysis["vggt"]["precision"].get<std::string>(), "fp32");
  EXPECT_EQ(r.analysis["vggt"]["device"].get<std::string>(), "cpu");
  EXPECT_GT(r.analysis["vggt"]["network_seconds"].get<double>(), 0.0);
  EXPECT_EQ(r.analysis["vggt"]["peak_gpu_memory_bytes"].get<size_t>(), 0u);
  EXPECT_FALSE(fs::exists(scene / "sparse"));
}

// The engine follows the device: the CPU runs the fp32 reference only; 16-bit precisions need a GPU.
TEST(VggtExport, CpuEngineIsFp32Only) {
  const VggtConfig cfg = VggtConfig::tiny();
  const std::unique_ptr<VggtEngine> e = make_vggt_engine(cfg, load_weights(fixture("vggt_tiny.pt"), cfg, false),
                                                         Device::cpu(), "auto");
  EXPECT_STREQ(e->name(), "cpu");
  EXPECT_STREQ(e->precision(), "fp32");
  EXPECT_TRUE(e->device().is_cpu());
  EXPECT_EQ(e->peak_memory_bytes(), 0u);
  TempDir tmp("vggt_export_precision");
  const fs::path scene = make_scene(tmp.path);
  VggtRunOptions o = tiny_options();
  o.precision = "bf16";
  const std::string msg = error_of([&] { run_vggt_p2(scene, tmp.path / "out", o); });
  EXPECT_NE(msg.find("fp32 only"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(tmp.path / "out" / "sparse"));
  o.precision = "int8";
  o.device = "cuda";  // without a GPU this fails on the device, with one on the precision
  EXPECT_FALSE(error_of([&] { run_vggt_p2(scene, tmp.path / "out", o); }).empty());
}

}  // namespace
}  // namespace vg::vggt
