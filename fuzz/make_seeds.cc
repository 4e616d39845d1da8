// fuzz_make_seeds <out>: small valid inputs for every fuzz target, written with vgsplat's own writers into
// <out>/<target>/ (tools/fuzz_seeds.sh adds the torch.save archive, built by Python's pickle). Inputs of targets
// whose first byte is a selector (targets.h) get one copy per selector value.
#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "fuzz/targets.h"
#include "io/colmap.h"
#include "io/image.h"
#include "io/jpeg_write.h"
#include "io/npy.h"
#include "io/ply.h"
#include "io/safetensors.h"
#include "io/splat_formats.h"
#include "io/video.h"
#include "splat/checkpoint.h"
#include "splat/train_config.h"
#include "sfm/mapper_input_io.h"

namespace vg {
namespace {

fs::path g_out;

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
  write_file_atomic(g_out / target / name, bytes);
}
void seeds_with_selector(const std::string& target, const std::string& name, const std::string& bytes, int n) {
  for (int s = 0; s < n; ++s) seed(target, name + "_" + std::to_string(s), std::string(1, char(s)) + bytes);
}

Image test_image(int w, int h, int c) {
  Image img;
  img.width = w, img.height = h, img.channels = c;
  for (int i = 0; i < w * h * c; ++i) img.pixels.push_back(float((i * 37) % 256) / 255.f);
  return img;
}

void image_seeds() {
  for (int c = 1; c <= 4; ++c) seeds_with_selector("image", "png" + std::to_string(c), png_bytes(test_image(5, 3, c)), 1);
  const fs::path tmp = g_out / "tmp.jpg";
  for (bool c420 : {false, true}) {
    std::vector<uint8_t> rgb(16 * 8 * 3);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = uint8_t(i * 7);
    write_jpeg(tmp, rgb.data(), 16, 8, 90, c420);
    seeds_with_selector("image", std::string("jpeg") + (c420 ? "420" : "444"), read_file(tmp), 2);
  }
  fs::remove(tmp);
}

ColmapModel small_model() {
  ColmapModel m;
  m.cameras[1] = {1, "PINHOLE", 8, 6, {5, 5, 4, 3}};
  m.cameras[2] = {2, "OPENCV", 8, 6, {5, 5, 4, 3, 0.1, 0.01, 0, 0}};
  ColmapImage im;
  im.id = 1, im.camera_id = 1, im.name = "a.png", im.xys = {1, 2, 3, 4}, im.point3D_ids = {7, -1};
  m.images[1] = im;
  im.id = 2, im.camera_id = 2, im.name = "b.png", im.xys.clear(), im.point3D_ids.clear();
  m.images[2] = im;
  ColmapPoint3D p;
  p.id = 7, p.xyz = {1, 2, 3}, p.rgb = {10, 20, 30}, p.error = 0.5, p.track = {{1, 0}};
  m.points[7] = p;
  return m;
}

void colmap_seeds() {
  const fs::path dir = g_out / "tmp_model";
  const char* names[3] = {"cameras", "images", "points3D"};
  write_colmap_bin(dir, small_model());
  for (int i = 0; i < 3; ++i) seed("colmap_bin", names[i], std::string(1, char(i)) + read_file(dir / (std::string(names[i]) + ".bin")));
  write_colmap_txt(dir, small_model());
  for (int i = 0; i < 3; ++i) seed("colmap_txt", names[i], std::string(1, char(i)) + read_file(dir / (std::string(names[i]) + ".txt")));
  fs::remove_all(dir);
}

void text_seeds() {
  seed("transforms", "shared", R"({"camera_angle_x": 0.8, "w": 2, "h": 2, "frames": [
    {"file_path": "img", "transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,2],[0,0,0,1]]}]})");
  seed("transforms", "per_frame", R"({"frames": [{"file_path": "./img.png", "fl_x": 3, "fl_y": 3, "cx": 1, "cy": 1,
    "k1": 0.1, "k2": 0, "p1": 0, "p2": 0, "transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,2]]}]})");
  seed("transforms", "from_image", R"({"camera_angle_x": 0.8, "frames": [{"file_path": "img.png",
    "transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,2],[0,0,0,1]]}]})");
  seed("strecha", "camera", "2759.48 0 1520.69\n0 2764.16 1006.81\n0 0 1\n0 0 0\n"
       "0.450927 -0.0945642 -0.887537\n-0.892535 -0.0401974 -0.449183\n0.00679989 0.994707 -0.102528\n"
       "-7.6 -1.1 3.2\n3072 2048\n");
}

// LLFF poses (identity camera-to-world, moving along x) for the npy target's two 4x3 images (H 3, W 4, f 4)
// as .npy 1.0 and 2.0, and a Fortran-order float32 array.
void npy_seeds() {
  std::vector<double> rows;
  for (int i = 0; i < 2; ++i)
    for (double v : {0., 1., 0., 0.1 * i, 3., 1., 0., 0., 0., 4., 0., 0., -1., 0., 4., 1., 9.}) rows.push_back(v);
  const std::string v1 = npy_bytes({2, 17}, rows);
  seeds_with_selector("npy", "poses_v1", v1, 2);
  const std::string v2 = std::string("\x93NUMPY\x02\x00", 8) + v1.substr(8, 2) + std::string(2, '\0') + v1.substr(10);
  seeds_with_selector("npy", "poses_v2", v2, 2);
  const std::string f4_header = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n";
  std::string f4 = std::string("\x93NUMPY\x01\x00", 8) + char(f4_header.size()) + '\0' + f4_header;
  for (int i = 0; i < 6; ++i) f4 += std::string("\0\0\x80\x3f", 4);  // 1.0f
  seeds_with_selector("npy", "fortran_f4", f4, 1);
}

// A little-endian TIFF: IFD0 {Make "C", ExifIFD} -> Exif IFD {FocalLength 24/1, FocalLengthIn35mmFilm 35,
// FocalPlaneXResolution 4000/1, unit inch, PixelXDimension 6000}; raw (selector 1) and in a JPEG APP1 (selector 0).
void exif_seeds() {
  auto le = [](uint32_t v, int n) { std::string b; for (int i = 0; i < n; ++i) b += char(v >> (8 * i)); return b; };
  auto entry = [&](int tag, int type, uint32_t count, const std::string& v) {
    return le(tag, 2) + le(type, 2) + le(count, 4) + v + std::string(4 - v.size(), '\0');
  };
  const uint32_t exif_off = 8 + 2 + 24 + 4, data_off = exif_off + 2 + 5 * 12 + 4;
  std::string t = "II" + le(42, 2) + le(8, 4) + le(2, 2) + entry(0x010F, 2, 2, std::string("C\0", 2)) +
                  entry(0x8769, 4, 1, le(exif_off, 4)) + le(0, 4);
  t += le(5, 2) + entry(0x920A, 5, 1, le(data_off, 4)) + entry(0xA405, 3, 1, le(35, 2)) +
       entry(0xA20E, 5, 1, le(data_off + 8, 4)) + entry(0xA210, 3, 1, le(2, 2)) + entry(0xA002, 4, 1, le(6000, 4)) +
       le(0, 4) + le(24, 4) + le(1, 4) + le(4000, 4) + le(1, 4);
  seed("exif", "tiff_le", std::string(1, '\1') + t);
  const std::string app1 = std::string("Exif\0\0", 6) + t;
  const size_t len = app1.size() + 2;
  seed("exif", "jpeg_app1", std::string("\0\xFF\xD8\xFF\xE1", 5) + char(len >> 8) + char(len & 0xFF) + app1 +
                                "\xFF\xD9");
}

Gaussians small_gaussians(int n, int sh_degree) {
  Gaussians g;
  std::vector<float> v(n * 4 * sh_coeffs(sh_degree));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.1f * float(i % 11) - 0.5f;
  auto t = [&](Shape s) {
    int64_t k = 1;
    for (int64_t d : s) k *= d;
    return Tensor::from_vector(std::vector<float>(v.begin(), v.begin() + k), s);
  };
  g.means = t({n, 3}), g.scales = t({n, 3}), g.quats = t({n, 4}), g.opacities = t({n}), g.sh0 = t({n, 3});
  g.shN = t({n, sh_coeffs(sh_degree) - 1, 3});
  return g;
}

void splat_seeds() {
  const fs::path tmp = g_out / "tmp.ply";
  for (int deg : {0, 1}) {
    write_ply_3dgs(tmp, small_gaussians(3, deg));
    seed("ply", "sh" + std::to_string(deg), read_file(tmp));
    seeds_with_selector("spz", "v2_sh" + std::to_string(deg), encode_spz(small_gaussians(3, deg)), 2);
    seeds_with_selector("spz", "v3_sh" + std::to_string(deg), encode_spz(small_gaussians(3, deg), {3, true, true}), 1);
  }
  fs::remove(tmp);
  seed("splat", "three", encode_splat(small_gaussians(3, 0)));
}

void weights_seeds() {
  SafetensorsWriter w;
  w.add("f32", Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}));
  w.add("f16", Tensor::from_vector(std::vector<float>{1, -2}, {2}), StDType::F16);
  w.add("bf16", Tensor::from_vector(std::vector<float>{0.5f}, {1, 1}), StDType::BF16);
  w.add("i64", Tensor::from_vector(std::vector<int64_t>{7, -8}, {2}));
  w.set_metadata("format", "pt");
  seed("safetensors", "mixed", w.serialize());

  Checkpoint c;
  c.step = 41;
  c.gaussians = small_gaussians(2, 1);
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    c.adam[i].exp_avg = c.gaussians.group(i);
    c.adam[i].exp_avg_sq = c.gaussians.group(i);
    c.adam[i].step = 42;
  }
  c.config_json = TrainConfig().to_json();
  const fs::path tmp = g_out / "tmp.safetensors";
  save_checkpoint(tmp, c);
  seed("checkpoint", "two_gaussians", read_file(tmp));
  fs::remove(tmp);

  MapperInput in;
  in.cameras[1] = {1, "SIMPLE_RADIAL", 8, 6, {5, 4, 3, 0}};
  in.camera_has_prior_focal[1] = true;
  in.images = {{"a.png", 1, {{1, 2}, {3, 4}}, {{1, 2, 3}, {4, 5, 6}}}, {"b.png", 1, {{2, 2}}, {}}};
  TwoViewGeometry tv;
  tv.config = TwoViewGeometry::CALIBRATED, tv.inlier_matches = {{1, 0}};
  in.pairs[{0, 1}] = tv;
  save_mapper_input(g_out / "mapper_cache" / "two_images", in);
}

void video_seeds() {
  if (!video_supported()) return;
  const fs::path tmp = g_out / "tmp.mp4";
  VideoWriter w(tmp, 16, 16, 5);
  RgbFrame f{16, 16, std::vector<uint8_t>(16 * 16 * 3)};
  for (int k = 0; k < 3; ++k) {
    for (size_t i = 0; i < f.pixels.size(); ++i) f.pixels[i] = uint8_t(i * 3 + k * 40);
    w.write(f);
  }
  w.close();
  seed("video", "three_frames_mp4", read_file(tmp));
  fs::remove(tmp);
}

}  // namespace
}  // namespace vg

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds <output folder>\n");
    return 2;
  }
  try {
    vg::g_out = argv[1];
    for (const auto& t : vg::fuzz::targets()) vg::fs::create_directories(vg::g_out / t.name);
    vg::image_seeds();
    vg::colmap_seeds();
    vg::text_seeds();
    vg::npy_seeds();
    vg::exif_seeds();
    vg::splat_seeds();
    vg::weights_seeds();
    vg::video_seeds();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
