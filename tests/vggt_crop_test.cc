// --vggt-resize crop: load_and_preprocess_images(mode="crop") of the official vggt/utils/load_fn.py (sizes,
// centre crop, white padding of mixed shapes, PIL bicubic pixels), the crop-mode rescaling of the exported
// cameras, VggtDepth's photo -> depth-map mapping in both modes, and `vgsplat vggt` end to end on the tiny fixture.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>

#include <unistd.h>

#include "core/error.h"
#include "io/colmap.h"
#include "io/image.h"
#include "pipeline/vggt_ba.h"
#include "test_util.h"
#include "tests/temp_dir.h"
#include "vggt_test_util.h"
#include "vggt/export.h"
#include "vggt/model.h"
#include "vggt/preprocess.h"
#include "vggt/weights.h"

namespace vg::vggt {
namespace {

namespace fs = std::filesystem;

fs::path fixture(const char* name) { return test::source_dir() / "tests" / "data" / name; }

using vg::test::TempDir;

// An 8-bit pattern photo (exact through PNG), its RGB bytes returned in `rgb8`.
fs::path write_photo(const fs::path& path, int w, int h, std::vector<uint8_t>* rgb8 = nullptr, int seed = 0) {
  Image img;
  img.width = w, img.height = h, img.channels = 3;
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  std::vector<uint8_t> bytes(img.pixels.size());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        const size_t i = (static_cast<size_t>(y) * w + x) * 3 + c;
        const double v = c == 0 ? x * 255 / w : c == 1 ? y * 255 / h : 128 + 100 * std::sin(0.2 * (x + y + seed));
        bytes[i] = static_cast<uint8_t>(v);
        img.pixels[i] = bytes[i] / 255.0f;
      }
  fs::create_directories(path.parent_path());
  write_png(path, img);
  if (rgb8) *rgb8 = bytes;
  return path;
}

std::vector<float> coords_of(const PreprocessedImages& p, int n) {
  const std::vector<float> c = p.original_coords.to_vector<float>();
  return std::vector<float>(c.begin() + n * 6, c.begin() + n * 6 + 6);
}

// The model image rows [r0, r0 + rows) of frame n equal rows [s0, ...) of PIL's resize / 255, exactly.
void expect_rows_equal(const PreprocessedImages& p, int n, int r0, const std::vector<uint8_t>& resized, int s0,
                       int rows) {
  const int64_t H = p.images_model.size(2), W = p.images_model.size(3);
  const float* im = p.images_model.data<float>() + n * 3 * H * W;
  int bad = 0;
  for (int y = 0; y < rows; ++y)
    for (int64_t x = 0; x < W; ++x)
      for (int c = 0; c < 3; ++c)
        bad += im[(c * H + r0 + y) * W + x] != resized[((static_cast<size_t>(s0) + y) * W + x) * 3 + c] / 255.0f;
  EXPECT_EQ(bad, 0) << "frame " << n;
}

// Every value of frame n's rows [r0, r1) is the white padding.
void expect_white_rows(const PreprocessedImages& p, int n, int r0, int r1) {
  const int64_t H = p.images_model.size(2), W = p.images_model.size(3);
  const float* im = p.images_model.data<float>() + n * 3 * H * W;
  int bad = 0;
  for (int c = 0; c < 3; ++c)
    for (int y = r0; y < r1; ++y)
      for (int64_t x = 0; x < W; ++x) bad += im[(c * H + y) * W + x] != 1.0f;
  EXPECT_EQ(bad, 0) << "frame " << n << " rows " << r0 << ".." << r1;
}

// round(h * (518 / w) / 14) * 14 as Python prints it; 518x35 and 1036x70 are ties (2.5 -> 2), 518x49 too (3.5 -> 4).
TEST(VggtCrop, ResizeHeightMatchesPython) {
  EXPECT_EQ(crop_resize_height(800, 533), 350);
  EXPECT_EQ(crop_resize_height(533, 800), 784);
  EXPECT_EQ(crop_resize_height(600, 600), 518);
  EXPECT_EQ(crop_resize_height(640, 480), 392);
  EXPECT_EQ(crop_resize_height(5616, 3744), 350);
  EXPECT_EQ(crop_resize_height(518, 35), 28);
  EXPECT_EQ(crop_resize_height(1036, 70), 28);
  EXPECT_EQ(crop_resize_height(518, 49), 56);
  EXPECT_EQ(crop_resize_height(96, 60, 112), 70);
  EXPECT_EQ(crop_resize_height(40, 56, 56), 84);
}

TEST(VggtCrop, LandscapeKeepsTheWholePhoto) {
  TempDir tmp("vggt_crop_landscape");
  std::vector<uint8_t> rgb;
  const fs::path f = write_photo(tmp.path / "a.png", 800, 533, &rgb);
  const PreprocessedImages p = load_and_preprocess_crop({f});
  EXPECT_EQ(p.resize, "crop");
  EXPECT_FALSE(p.images_load.defined());
  ASSERT_EQ(p.images_model.shape(), (Shape{1, 3, 350, 518}));
  EXPECT_EQ(coords_of(p, 0), (std::vector<float>{0, 0, 518, 350, 800, 533}));
  expect_rows_equal(p, 0, 0, pil_resize_bicubic(rgb, 800, 533, 3, 518, 350), 0, 350);
}

// 533x800 -> 518x784, rows 133..650 kept: the photo's top edge lands at y = -133, its bottom at 651.
TEST(VggtCrop, PortraitIsCentreCropped) {
  TempDir tmp("vggt_crop_portrait");
  std::vector<uint8_t> rgb;
  const fs::path f = write_photo(tmp.path / "a.png", 533, 800, &rgb);
  const PreprocessedImages p = load_and_preprocess_crop({f});
  ASSERT_EQ(p.images_model.shape(), (Shape{1, 3, 518, 518}));
  EXPECT_EQ(coords_of(p, 0), (std::vector<float>{0, -133, 518, 651, 533, 800}));
  expect_rows_equal(p, 0, 0, pil_resize_bicubic(rgb, 533, 800, 3, 518, 784), 133, 518);
}

// Shapes 350, 518 (cropped) and 322 rows: padded, centred, with 1.0 to 518 rows.
TEST(VggtCrop, MixedShapesArePaddedWithWhite) {
  TempDir tmp("vggt_crop_mixed");
  std::vector<uint8_t> a, b, c;
  const PreprocessedImages p = load_and_preprocess_crop({write_photo(tmp.path / "a.png", 800, 533, &a),
                                                         write_photo(tmp.path / "b.png", 533, 800, &b),
                                                         write_photo(tmp.path / "c.png", 96, 60, &c)});
  ASSERT_EQ(p.images_model.shape(), (Shape{3, 3, 518, 518}));
  EXPECT_EQ(coords_of(p, 0), (std::vector<float>{0, 84, 518, 434, 800, 533}));  // pad (518 - 350) / 2
  EXPECT_EQ(coords_of(p, 1), (std::vector<float>{0, -133, 518, 651, 533, 800}));
  EXPECT_EQ(coords_of(p, 2), (std::vector<float>{0, 98, 518, 420, 96, 60}));  // 322 rows, pad 98
  expect_white_rows(p, 0, 0, 84);
  expect_rows_equal(p, 0, 84, pil_resize_bicubic(a, 800, 533, 3, 518, 350), 0, 350);
  expect_white_rows(p, 0, 434, 518);
  expect_rows_equal(p, 1, 0, pil_resize_bicubic(b, 533, 800, 3, 518, 784), 133, 518);
  expect_white_rows(p, 2, 0, 98);
  expect_rows_equal(p, 2, 98, pil_resize_bicubic(c, 96, 60, 3, 518, 322), 0, 322);
  expect_white_rows(p, 2, 420, 518);
}

TEST(VggtCrop, TransparentPixelsAreWhiteAndPanoramasTooWideFail) {
  TempDir tmp("vggt_crop_rgba");
  Image img;
  img.width = 28, img.height = 28, img.channels = 4;
  img.pixels.assign(28 * 28 * 4, 0.0f);  // transparent black
  write_png(tmp.path / "t.png", img);
  const PreprocessedImages p = load_and_preprocess_crop({tmp.path / "t.png"}, 56);
  ASSERT_EQ(p.images_model.shape(), (Shape{1, 3, 56, 56}));
  for (float v : p.images_model.to_vector<float>()) ASSERT_EQ(v, 1.0f);
  // 518x7: 7 * 518 / 518 / 14 = 0.5 rounds to 0 (half to even): PIL refuses a 0-row image, so do we.
  const fs::path wide = write_photo(tmp.path / "w.png", 518, 7);
  EXPECT_THROW(load_and_preprocess_crop({wide}), vg::Error);
  EXPECT_THROW(load_and_preprocess_crop({wide}, 500), vg::Error);  // not a multiple of 14
}

ColmapModel one_camera_model(int64_t W, int64_t H, std::vector<double> xys) {
  ColmapModel m;
  m.cameras[1] = {1, "PINHOLE", W, H, {400.0, 410.0, W / 2.0, H / 2.0}};
  ColmapImage im;
  im.id = 1;
  im.camera_id = 1;
  im.xys = std::move(xys);
  im.point3D_ids.assign(im.xys.size() / 2, 1);
  m.images[1] = im;
  return m;
}

// Per-axis ratios 800 / 518 and 533 / 350; a point seen at model pixel (u, v) reprojects onto its observation.
TEST(VggtCrop, RenameAndRescaleByHand) {
  ColmapModel m = one_camera_model(518, 350, {300.0, 200.0});
  rename_and_rescale(m, {"a.png"}, Tensor::from_vector(std::vector<float>{0, 0, 518, 350, 800, 533}, {1, 6}), 518,
                     "crop");
  const ColmapCamera& c = m.cameras.at(1);
  const double rx = 800.0 / 518.0, ry = 533.0 / 350.0;
  EXPECT_EQ(m.images.at(1).name, "a.png");
  EXPECT_EQ(c.width, 800);
  EXPECT_EQ(c.height, 533);
  EXPECT_DOUBLE_EQ(c.params[0], 400.0 * rx);
  EXPECT_DOUBLE_EQ(c.params[1], 410.0 * ry);
  EXPECT_DOUBLE_EQ(c.params[2], 400.0);
  EXPECT_DOUBLE_EQ(c.params[3], 266.5);
  EXPECT_DOUBLE_EQ(m.images.at(1).xys[0], 300.0 * rx);
  EXPECT_DOUBLE_EQ(m.images.at(1).xys[1], 200.0 * ry);
  // Cropped portrait and padded landscape: (x - x1) * rx equals the rescaled camera's projection.
  const std::vector<std::vector<float>> rows = {{0, -133, 518, 651, 533, 800}, {0, 84, 518, 434, 800, 533}};
  for (const std::vector<float>& row : rows) {
    const double u = 100.0, v = 37.0;
    ColmapModel mm = one_camera_model(518, 518, {u, v});
    rename_and_rescale(mm, {"b.png"}, Tensor::from_vector(row, {1, 6}), 518, "crop");
    const ColmapCamera& cc = mm.cameras.at(1);
    const double x = (u - 259.0) / 400.0, y = (v - 259.0) / 410.0;  // the ray of model pixel (u, v)
    EXPECT_NEAR(cc.params[0] * x + cc.params[2], mm.images.at(1).xys[0], 1e-9);
    EXPECT_NEAR(cc.params[1] * y + cc.params[3], mm.images.at(1).xys[1], 1e-9);
    EXPECT_NEAR(mm.images.at(1).xys[1], (v - row[1]) * row[5] / (row[3] - row[1]), 1e-9);
  }
  EXPECT_THROW(rename_and_rescale(m, {"a.png"}, Tensor::zeros({1, 6}), 518, "pad"), vg::Error);
}

// Depth linear in the model pixel (bilinear reproduces it), so VggtDepth reads back where a photo pixel lands.
VggtPredictions linear_depth(int64_t H, int64_t W, const std::vector<float>& coords, const std::string& resize) {
  std::vector<float> d(H * W);
  for (int64_t v = 0; v < H; ++v)
    for (int64_t u = 0; u < W; ++u) d[v * W + u] = 1.0f + 0.01f * u + 0.001f * v;
  VggtPredictions p;
  p.depth = Tensor::from_vector(d, {1, H, W});
  p.original_coords = Tensor::from_vector(coords, {1, 6});
  p.resize = resize;
  return p;
}

TEST(VggtCrop, VggtDepthMapsPhotoPixelsInBothModes) {
  auto expect_at = [](const VggtDepth& depth, Eigen::Vector2d px, double u, double v) {
    const Eigen::Vector2d m = depth.model_pixel(0, px);
    EXPECT_NEAR(m.x(), u, 1e-4);  // float32 coords
    EXPECT_NEAR(m.y(), v, 1e-4);
    EXPECT_NEAR(depth(0, px), 1.0 + 0.01 * u + 0.001 * v, 1e-5);
  };
  // square: an 800x534 photo on the 1024 square (top 170.24), depth at 518: the centre lands at 258.5.
  const VggtDepth sq(linear_depth(518, 518, {0, 133 * 1.28f, 1024, 667 * 1.28f, 800, 534}, "square"), 1024);
  expect_at(sq, {400, 267}, 258.5, 258.5);
  expect_at(sq, {100, 50}, 100 * 1.28 * 518 / 1024 - 0.5, (50 * 1.28 + 133 * 1.28f) * 518 / 1024 - 0.5);
  // crop, landscape 800x533 -> 518x350: the photo's pixel centres are the model's.
  const VggtDepth land(linear_depth(350, 518, {0, 0, 518, 350, 800, 533}, "crop"), 1024);
  expect_at(land, {400, 266.5}, 258.5, 174.5);
  expect_at(land, {(10 + 0.5) * 800 / 518.0, (20 + 0.5) * 533 / 350.0}, 10, 20);
  // crop, portrait 533x800 -> 518x784 minus 133 rows on top: the cropped rows have no depth.
  const VggtDepth port(linear_depth(518, 518, {0, -133, 518, 651, 533, 800}, "crop"), 1024);
  expect_at(port, {266.5, 400}, 258.5, 258.5);
  expect_at(port, {(10 + 0.5) * 533 / 518.0, (133 + 20 + 0.5) * 800 / 784.0}, 10, 20);
  EXPECT_TRUE(std::isnan(port(0, {100, 10})));
  EXPECT_TRUE(std::isnan(port(0, {100, 795})));
  EXPECT_TRUE(std::isnan(port(1, {100, 400})));  // no such frame
}

VggtRunOptions tiny_crop_options(int model_size) {
  VggtRunOptions o;
  o.weights = fixture("vggt_tiny.pt").string();
  o.config = "tiny";
  o.device = "cpu";
  o.resize = "crop";
  o.model_size = model_size;
  return o;
}

// `vgsplat vggt --vggt-resize crop` on three 96x60 photos at width 112: the network sees 112x70, the model has the
// photos' size, the principal point at their centre, focal lengths rescaled per axis.
TEST(VggtCrop, TinyEndToEndLandscape) {
  TempDir tmp("vggt_crop_e2e");
  std::vector<fs::path> files;
  for (int k = 0; k < 3; ++k)
    files.push_back(
        write_photo(tmp.path / "scene" / "images" / ("f" + std::to_string(k) + ".png"), 96, 60, nullptr, 7 * k));
  const VggtConfig cfg = VggtConfig::tiny();
  const PreprocessedImages pre = load_and_preprocess_crop(files, 112);
  ASSERT_EQ(pre.images_model.shape(), (Shape{3, 3, 70, 112}));
  const VggtOutput net = VggtModel(cfg, load_weights(fixture("vggt_tiny.pt"), cfg, false)).forward(pre.images_model);
  ASSERT_EQ(net.depth.shape(), (Shape{3, 70, 112}));
  const std::vector<float> K = net.intrinsics.to_vector<float>(), conf = net.depth_conf.to_vector<float>();
  EXPECT_FLOAT_EQ(K[2], 56.0f);
  EXPECT_FLOAT_EQ(K[5], 35.0f);

  VggtRunOptions o = tiny_crop_options(112);
  o.exp.conf_thres = 1.0f;
  o.exp.max_points = 2000;
  const VggtRunStats st = run_vggt_p2(tmp.path / "scene", tmp.path / "out", o);
  EXPECT_EQ(st.resize, "crop");
  EXPECT_EQ(st.model_width, 112);
  EXPECT_EQ(st.model_height, 70);
  EXPECT_EQ(vggt_stats_json(st)["resize"], "crop");
  const ColmapModel m = read_colmap_model(tmp.path / "out" / "sparse");
  ASSERT_EQ(m.images.size(), 3u);
  EXPECT_EQ(m.points.size(), 2000u);
  for (const auto& [id, im] : m.images) {
    const ColmapCamera& cam = m.cameras.at(im.camera_id);
    EXPECT_EQ(im.name, "f" + std::to_string(id - 1) + ".png");
    EXPECT_EQ(cam.model, "PINHOLE");
    EXPECT_EQ(cam.width, 96);
    EXPECT_EQ(cam.height, 60);
    EXPECT_DOUBLE_EQ(cam.params[2], 48.0);
    EXPECT_DOUBLE_EQ(cam.params[3], 30.0);
    EXPECT_NEAR(cam.params[0], K[(id - 1) * 9 + 0] * 96.0 / 112.0, 1e-3);
    EXPECT_NEAR(cam.params[1], K[(id - 1) * 9 + 4] * 60.0 / 70.0, 1e-3);
    for (size_t k = 0; k < im.point3D_ids.size(); ++k) {  // back to the model pixel it came from
      const double x = im.xys[2 * k] * 112.0 / 96.0, y = im.xys[2 * k + 1] * 70.0 / 60.0;
      const int64_t xi = std::llround(x), yi = std::llround(y);
      ASSERT_NEAR(x, static_cast<double>(xi), 1e-6);
      ASSERT_NEAR(y, static_cast<double>(yi), 1e-6);
      ASSERT_TRUE(xi >= 0 && xi < 112 && yi >= 0 && yi < 70);
      EXPECT_GE(conf[(id - 1) * 70 * 112 + yi * 112 + xi], o.exp.conf_thres);
    }
  }
}

// Mixed sizes (64x48, 40x56, 50x50 at width 56: 42, 56 cropped from 84, 56 rows): no point from the white padding.
TEST(VggtCrop, TinyMixedSizesKeepPointsInsideThePhotos) {
  TempDir tmp("vggt_crop_mixed_e2e");
  const fs::path scene = test::write_small_scene(tmp.path);
  VggtRunOptions o = tiny_crop_options(56);
  o.exp.conf_thres = 1.0f;  // every pixel qualifies: only the photo mask limits
  o.exp.max_points = 100000;
  const VggtRunStats st = run_vggt_p2(scene, tmp.path / "out", o);
  EXPECT_EQ(st.model_height, 56);
  EXPECT_EQ(st.confident, 56 * 56 + 56 * 42 + 56 * 56);  // frame_a, frame_b (padded 7 + 7), zz
  const ColmapModel m = read_colmap_model(tmp.path / "out" / "sparse");
  for (const auto& [id, im] : m.images) {
    const ColmapCamera& cam = m.cameras.at(im.camera_id);
    EXPECT_DOUBLE_EQ(cam.params[2], cam.width / 2.0);
    EXPECT_DOUBLE_EQ(cam.params[3], cam.height / 2.0);
    for (size_t k = 0; k < im.xys.size(); k += 2) {
      ASSERT_GE(im.xys[k], 0.0);
      ASSERT_LT(im.xys[k], static_cast<double>(cam.width));
      ASSERT_GE(im.xys[k + 1], 0.0);
      ASSERT_LT(im.xys[k + 1], static_cast<double>(cam.height));
    }
  }
  o.resize = "pad";
  EXPECT_THROW(run_vggt_p2(scene, tmp.path / "out2", o), vg::Error);
}

}  // namespace
}  // namespace vg::vggt
