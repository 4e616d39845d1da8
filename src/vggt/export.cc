#include "vggt/export.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <set>

#include <Eigen/Geometry>

#include "core/error.h"
#include "core/fs.h"
#include "io/ply.h"

namespace vg::vggt {

namespace fs = std::filesystem;

// ---- numpy legacy RandomState ------------------------------------------------------------------------------

// distributions.c random_interval: the smallest all-ones mask >= max, redraw while the masked value > max.
uint64_t NumpyLegacyRandom::random_interval(uint64_t max) {
  if (max == 0) return 0;
  uint64_t mask = max;
  for (int s = 1; s <= 32; s <<= 1) mask |= mask >> s;
  uint64_t value;
  if (max <= 0xffffffffULL) {
    while ((value = (static_cast<uint64_t>(mt_()) & mask)) > max) {
    }
  } else {
    auto next64 = [&] {
      const uint64_t hi = mt_();
      return (hi << 32) | static_cast<uint64_t>(mt_());
    };
    while ((value = (next64() & mask)) > max) {
    }
  }
  return value;
}

std::vector<int64_t> NumpyLegacyRandom::permutation(int64_t n) {
  std::vector<int64_t> a(static_cast<size_t>(std::max<int64_t>(n, 0)));
  std::iota(a.begin(), a.end(), int64_t{0});
  for (int64_t i = n - 1; i >= 1; --i) std::swap(a[i], a[random_interval(static_cast<uint64_t>(i))]);
  return a;
}

std::vector<int64_t> randomly_limit_trues(const std::vector<uint8_t>& mask, int64_t max_trues,
                                          NumpyLegacyRandom& rng) {
  VG_CHECK(max_trues >= 0, "randomly_limit_trues: max_trues must be >= 0, got ", max_trues);
  std::vector<int64_t> true_indices;
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i]) true_indices.push_back(static_cast<int64_t>(i));
  if (static_cast<int64_t>(true_indices.size()) <= max_trues) return true_indices;
  const std::vector<int64_t> perm = rng.permutation(static_cast<int64_t>(true_indices.size()));
  std::vector<int64_t> kept(static_cast<size_t>(max_trues));
  for (int64_t k = 0; k < max_trues; ++k) kept[k] = true_indices[perm[k]];
  std::sort(kept.begin(), kept.end());  // the mask is read back in flat order
  return kept;
}

// ---- unprojection ------------------------------------------------------------------------------------------

std::vector<double> unproject_depth_map_to_point_map(const Tensor& depth, const Tensor& extrinsics,
                                                     const Tensor& intrinsics) {
  VG_CHECK(depth.ndim() == 3, "unproject: depth must be [S,H,W], got ", shape_str(depth.shape()));
  const int64_t S = depth.size(0), H = depth.size(1), W = depth.size(2);
  VG_CHECK(extrinsics.shape() == (Shape{S, 3, 4}) && intrinsics.shape() == (Shape{S, 3, 3}),
           "unproject: extrinsics must be [S,3,4] and intrinsics [S,3,3] for S = ", S);
  const Tensor dc = depth.to(Device::cpu()), ec = extrinsics.to(Device::cpu()), kc = intrinsics.to(Device::cpu());
  const float* d = dc.data<float>();
  std::vector<double> out(static_cast<size_t>(S * H * W * 3));
  for (int64_t s = 0; s < S; ++s) {
    const float* K = kc.data<float>() + s * 9;
    const float* E = ec.data<float>() + s * 12;
    VG_CHECK(K[1] == 0.0f && K[3] == 0.0f, "unproject: intrinsics of frame ", s, " have a skew");
    // closed_form_inverse_se3: R^T and -R^T t in float32, held in the float64 4x4.
    float Rt[3][3], tinv[3];
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) Rt[i][j] = E[j * 4 + i];
    for (int i = 0; i < 3; ++i) tinv[i] = -(Rt[i][0] * E[3] + Rt[i][1] * E[7] + Rt[i][2] * E[11]);
    const double fu = K[0], fv = K[4], cu = K[2], cv = K[5];
    for (int64_t v = 0; v < H; ++v)
      for (int64_t u = 0; u < W; ++u) {
        const int64_t i = (s * H + v) * W + u;
        const double z = d[i];
        // depth_to_cam_coords_points: float64 arithmetic, stacked as float32.
        const float cam[3] = {static_cast<float>((u - cu) * z / fu), static_cast<float>((v - cv) * z / fv),
                              static_cast<float>(z)};
        for (int r = 0; r < 3; ++r)
          out[i * 3 + r] = static_cast<double>(cam[0]) * Rt[r][0] + static_cast<double>(cam[1]) * Rt[r][1] +
                           static_cast<double>(cam[2]) * Rt[r][2] + tinv[r];
      }
  }
  return out;
}

// ---- COLMAP model ------------------------------------------------------------------------------------------

namespace {

// The value below which a share q of the n confidences lies (nearest rank).
float confidence_quantile(const float* c, int64_t n, double q) {
  std::vector<float> v(c, c + n);
  const int64_t k = std::clamp<int64_t>(static_cast<int64_t>(q * static_cast<double>(n)), 0, n - 1);
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

void check_predictions(const VggtPredictions& p) {
  VG_CHECK(p.depth.ndim() == 3, "VGGT export: depth must be [S,H,W], got ", shape_str(p.depth.shape()));
  const int64_t S = p.depth.size(0), H = p.depth.size(1), W = p.depth.size(2);
  VG_CHECK(p.conf.shape() == p.depth.shape(), "VGGT export: confidence ", shape_str(p.conf.shape()), " != depth ",
           shape_str(p.depth.shape()));
  VG_CHECK(p.images_model.shape() == (Shape{S, 3, H, W}), "VGGT export: images ", shape_str(p.images_model.shape()),
           " do not match the depth maps ", shape_str(p.depth.shape()));
  VG_CHECK(p.original_coords.shape() == (Shape{S, 6}), "VGGT export: original_coords must be [S,6]");
  VG_CHECK(!p.world_points.defined() || p.world_points.shape() == (Shape{S, H, W, 3}),
           "VGGT export: world points must be [S,H,W,3]");
  VG_CHECK(static_cast<int64_t>(p.names.size()) == S, "VGGT export: ", p.names.size(), " names for ", S, " frames");
  VG_CHECK(p.resize == "square" || p.resize == "crop", "VGGT export: unknown resize mode '", p.resize, "'");
}

// crop mode: 1 for the model pixels inside the photo (not the white padding of mixed sizes); empty: all of them.
std::vector<uint8_t> photo_pixels(const VggtPredictions& p) {
  if (p.resize != "crop") return {};
  const int64_t S = p.depth.size(0), H = p.depth.size(1), W = p.depth.size(2);
  const Tensor oc = p.original_coords.to(Device::cpu());
  std::vector<uint8_t> in(static_cast<size_t>(S * H * W));
  for (int64_t s = 0; s < S; ++s) {
    const float* r = oc.data<float>() + s * 6;
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x)  // pixel centres inside [x1, x2] x [y1, y2]
        in[(s * H + y) * W + x] = x + 0.5 > r[0] && x + 0.5 < r[2] && y + 0.5 > r[1] && y + 0.5 < r[3];
  }
  return in;
}

// conf >= the threshold (a percentile with conf_percentile) on the photo pixels; the top min_keep_fraction
// instead when that keeps too few (r.note says so). Sets r.confident and r.conf_threshold.
std::vector<uint8_t> confident_mask(const float* c, int64_t n, const std::vector<uint8_t>& inside,
                                    const ExportOptions& opt, ExportResult& r) {
  std::vector<uint8_t> mask(static_cast<size_t>(n));
  r.conf_threshold = opt.conf_percentile ? confidence_quantile(c, n, opt.conf_thres / 100.0) : opt.conf_thres;
  for (int64_t i = 0; i < n; ++i) {
    mask[i] = c[i] >= r.conf_threshold && (inside.empty() || inside[i]);
    r.confident += mask[i];
  }
  if (opt.min_keep_fraction > 0 && static_cast<double>(r.confident) < opt.min_keep_fraction * static_cast<double>(n)) {
    // Never empty: the top-confidence share instead of (almost) nothing.
    const float fallback = confidence_quantile(c, n, 1 - opt.min_keep_fraction);
    char note[256];
    std::snprintf(note, sizeof note, "confidence >= %g keeps %lld of %lld pixels (< %g %%): using the top %g %% "
                  "(confidence >= %g) instead", static_cast<double>(r.conf_threshold), static_cast<long long>(r.confident),
                  static_cast<long long>(n), 100 * opt.min_keep_fraction, 100 * opt.min_keep_fraction,
                  static_cast<double>(fallback));
    r.note = note;
    r.conf_threshold = fallback;
    r.confident = 0;
    for (int64_t i = 0; i < n; ++i) {
      mask[i] = c[i] >= fallback && (inside.empty() || inside[i]);
      r.confident += mask[i];
    }
  }
  return mask;
}

ColmapImage make_image(int64_t s, const float* E) {
  ColmapImage im;
  im.id = static_cast<uint32_t>(s + 1);
  im.camera_id = im.id;
  im.name = "image_" + std::to_string(s + 1);
  Eigen::Matrix3d R;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) R(i, j) = E[i * 4 + j];
  const Eigen::Quaterniond q(R);  // pycolmap.Rotation3d(matrix): Eigen's conversion, as is
  im.qvec = {q.w(), q.x(), q.y(), q.z()};
  im.tvec = {E[3], E[7], E[11]};
  return im;
}

}  // namespace

ExportResult predictions_to_colmap(const VggtPredictions& p, const ExportOptions& opt) {
  check_predictions(p);
  const int64_t S = p.depth.size(0), H = p.depth.size(1), W = p.depth.size(2), HW = H * W;
  const Tensor conf = p.conf.to(Device::cpu()), img = p.images_model.to(Device::cpu());
  const Tensor ext = p.extrinsics.to(Device::cpu()), K = p.intrinsics.to(Device::cpu());
  std::vector<double> points;
  if (!p.world_points.defined()) {
    points = unproject_depth_map_to_point_map(p.depth, ext, K);
  } else {
    const std::vector<float> wp = p.world_points.to_vector<float>();
    points.assign(wp.begin(), wp.end());
  }

  ExportResult r;
  const float* c = conf.data<float>();
  const std::vector<uint8_t> mask = confident_mask(c, S * HW, photo_pixels(p), opt, r);
  NumpyLegacyRandom rng(opt.seed);
  r.flat_index = randomly_limit_trues(mask, opt.max_points, rng);

  // Cameras and images: one PINHOLE camera per frame at model resolution (fx, fy, cx, cy as float32).
  for (int64_t s = 0; s < S; ++s) {
    const float* k = K.data<float>() + s * 9;
    ColmapCamera cam{static_cast<uint32_t>(s + 1), "PINHOLE", W, H, {k[0], k[4], k[2], k[5]}};
    r.model.cameras[cam.id] = cam;
    r.model.images[cam.id] = make_image(s, ext.data<float>() + s * 12);
  }
  // Points in flat (frame, y, x) order with ids 1..P; each observed once at its pixel.
  const float* im = img.data<float>();
  const size_t P = r.flat_index.size();
  r.xyz.resize(P * 3);
  r.rgb.resize(P * 3);
  r.conf.resize(P);
  for (size_t n = 0; n < P; ++n) {
    const int64_t f = r.flat_index[n], s = f / HW, y = (f % HW) / W, x = f % W;
    ColmapPoint3D pt;
    pt.id = n + 1;
    pt.error = -1.0;  // pycolmap's default for a point without a reprojection error
    for (int a = 0; a < 3; ++a) {
      pt.xyz[a] = points[f * 3 + a];
      r.xyz[n * 3 + a] = static_cast<float>(pt.xyz[a]);
      // (images * 255).astype(np.uint8): float32 product, truncated.
      pt.rgb[a] = static_cast<uint8_t>(im[(s * 3 + a) * HW + y * W + x] * 255.0f);
      r.rgb[n * 3 + a] = pt.rgb[a];
    }
    r.conf[n] = c[f];
    ColmapImage& image = r.model.images[static_cast<uint32_t>(s + 1)];
    pt.track.emplace_back(image.id, static_cast<uint32_t>(image.point3D_ids.size()));
    image.xys.push_back(static_cast<double>(x));
    image.xys.push_back(static_cast<double>(y));
    image.point3D_ids.push_back(static_cast<int64_t>(pt.id));
    r.model.points.emplace(pt.id, std::move(pt));
  }
  return r;
}

namespace {

// The crop mode's rescaling (export.h): per-axis ratios from the photo's extent in model pixels.
void rescale_crop(ColmapCamera& cam, ColmapImage& image, const float* row) {
  const double width = row[4], height = row[5];
  const double rx = width / (static_cast<double>(row[2]) - row[0]);
  const double ry = height / (static_cast<double>(row[3]) - row[1]);
  for (size_t k = 0; k < cam.params.size(); ++k) cam.params[k] *= cam.model == "PINHOLE" && k == 1 ? ry : rx;
  cam.params[cam.params.size() - 2] = width / 2.0;
  cam.params[cam.params.size() - 1] = height / 2.0;
  cam.width = static_cast<int64_t>(width);
  cam.height = static_cast<int64_t>(height);
  for (size_t k = 0; k + 1 < image.xys.size(); k += 2) {
    image.xys[k] = (image.xys[k] - row[0]) * rx;
    image.xys[k + 1] = (image.xys[k + 1] - row[1]) * ry;
  }
}

}  // namespace

void rename_and_rescale(ColmapModel& model, const std::vector<std::string>& names, const Tensor& original_coords,
                        int img_size, const std::string& resize) {
  VG_CHECK(img_size > 0, "rename_and_rescale: img_size must be positive");
  VG_CHECK(resize == "square" || resize == "crop", "rename_and_rescale: unknown resize mode '", resize, "'");
  const Tensor oc = original_coords.to(Device::cpu());
  VG_CHECK(oc.ndim() == 2 && oc.size(1) == 6, "rename_and_rescale: original_coords must be [N,6], got ",
           shape_str(oc.shape()));
  std::set<uint32_t> rescaled;  // a shared camera is rescaled once (the original's rescale_camera flag)
  for (auto& [id, image] : model.images) {
    VG_CHECK(id >= 1 && id <= names.size() && id <= oc.size(0), "rename_and_rescale: image id ", id,
             " has no file name / original size");
    image.name = names[id - 1];
    const float* row = oc.data<float>() + (id - 1) * 6;
    auto it = model.cameras.find(image.camera_id);
    VG_CHECK(it != model.cameras.end(), "rename_and_rescale: image ", id, " has no camera ", image.camera_id);
    ColmapCamera& cam = it->second;
    VG_CHECK(cam.params.size() >= 2, "rename_and_rescale: camera ", cam.id, " has fewer than 2 parameters");
    if (resize == "crop") {
      rescale_crop(cam, image, row);
      continue;
    }
    const float width = row[4], height = row[5];
    const float resize_ratio = std::max(width, height) / static_cast<float>(img_size);  // numpy float32
    if (rescaled.insert(cam.id).second) {
      for (double& v : cam.params) v *= static_cast<double>(resize_ratio);
      cam.params[cam.params.size() - 2] = width / 2.0f;
      cam.params[cam.params.size() - 1] = height / 2.0f;
      cam.width = static_cast<int64_t>(width);
      cam.height = static_cast<int64_t>(height);
    }
    // shift_point2d_to_original_res: top-left in load-size pixels, as the official code does.
    for (size_t k = 0; k + 1 < image.xys.size(); k += 2) {
      image.xys[k] = (image.xys[k] - static_cast<double>(row[0])) * static_cast<double>(resize_ratio);
      image.xys[k + 1] = (image.xys[k + 1] - static_cast<double>(row[1])) * static_cast<double>(resize_ratio);
    }
  }
}

void write_export(const fs::path& dir, const ExportResult& r, bool write_txt) {
  fs::create_directories(dir);
  write_colmap_bin(dir, r.model);
  if (write_txt) write_colmap_txt(dir, r.model);
  std::vector<float> rgb(r.rgb.size());
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = r.rgb[i] / 255.0f;  // write_points_ply rounds back exactly
  write_points_ply(dir / "points.ply", r.xyz, rgb, /*binary=*/true);
}

}  // namespace vg::vggt
