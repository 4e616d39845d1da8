#include "sfm/track_ba.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <Eigen/Geometry>

#include "core/error.h"

namespace vg {

namespace {

struct Frame {
  Eigen::Matrix3d R;
  Eigen::Vector3d t;
  double fx, fy, cx, cy;
};

std::vector<Frame> read_frames(const Tensor& extrinsics, const Tensor& intrinsics, int64_t S) {
  VG_CHECK(extrinsics.numel() == S * 12 && intrinsics.numel() == S * 9, "track BA: extrinsics ",
           shape_str(extrinsics.shape()), " / intrinsics ", shape_str(intrinsics.shape()), " for ", S, " frames");
  const std::vector<float> E = extrinsics.to_vector<float>(), K = intrinsics.to_vector<float>();
  std::vector<Frame> f(S);
  for (int64_t s = 0; s < S; ++s) {
    const float* e = E.data() + s * 12;
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) f[s].R(i, j) = e[i * 4 + j];
      f[s].t[i] = e[i * 4 + 3];
    }
    const float* k = K.data() + s * 9;
    f[s] = {f[s].R, f[s].t, k[0], k[4], k[2], k[5]};
    VG_CHECK(std::isfinite(f[s].fx) && std::isfinite(f[s].fy) && f[s].fx > 0 && f[s].fy > 0 &&
                 f[s].R.allFinite() && f[s].t.allFinite(),
             "track BA: frame ", s, " has a non-finite or non-positive camera");
  }
  return f;
}

ColmapCamera make_camera(uint32_t id, const Frame& f, const std::string& type, int64_t w, int64_t h) {
  if (type == "PINHOLE") return {id, type, w, h, {f.fx, f.fy, f.cx, f.cy}};
  return {id, "SIMPLE_PINHOLE", w, h, {(f.fx + f.fy) / 2, f.cx, f.cy}};  // _build_pycolmap_intri
}

ColmapImage make_image(int64_t s, const Frame& f, uint32_t camera_id) {
  ColmapImage im;
  im.id = static_cast<uint32_t>(s + 1);
  im.camera_id = camera_id;
  im.name = "image_" + std::to_string(s + 1);
  const Eigen::Quaterniond q(f.R);  // pycolmap.Rotation3d(matrix)
  im.qvec = {q.w(), q.x(), q.y(), q.z()};
  im.tvec = {f.t.x(), f.t.y(), f.t.z()};
  return im;
}

// Mean reprojection error of the model's observations (SIMPLE_PINHOLE / PINHOLE cameras).
double mean_error(const ColmapModel& m) {
  double sum = 0;
  int64_t n = 0;
  for (const auto& [id, im] : m.images) {
    const ColmapCamera& c = m.cameras.at(im.camera_id);
    const bool simple = c.model == "SIMPLE_PINHOLE";
    const double fx = c.params[0], fy = simple ? c.params[0] : c.params[1];
    const double cx = c.params[simple ? 1 : 2], cy = c.params[simple ? 2 : 3];
    const Eigen::Matrix4d T = im.world_to_camera();
    for (size_t k = 0; k < im.point3D_ids.size(); ++k) {
      if (im.point3D_ids[k] < 0) continue;
      const auto& X = m.points.at(static_cast<uint64_t>(im.point3D_ids[k])).xyz;
      const Eigen::Vector3d p = T.topLeftCorner<3, 3>() * Eigen::Vector3d(X[0], X[1], X[2]) + T.topRightCorner<3, 1>();
      sum += std::hypot(fx * p.x() / p.z() + cx - im.xys[2 * k], fy * p.y() / p.z() + cy - im.xys[2 * k + 1]);
      ++n;
    }
  }
  return n ? sum / static_cast<double>(n) : 0.0;
}

}  // namespace

TrackBaResult tracks_to_model_and_ba(const Tensor& tracks, const Tensor& vis, const std::vector<float>& xyz,
                                     const std::vector<uint8_t>& rgb, const Tensor& extrinsics,
                                     const Tensor& intrinsics, int64_t width, int64_t height,
                                     const TrackBaOptions& opt) {
  VG_CHECK(tracks.defined() && tracks.ndim() == 3 && tracks.size(2) == 2, "track BA: tracks must be [S,N,2]");
  const int64_t S = tracks.size(0), N = tracks.size(1);
  VG_CHECK(vis.numel() == S * N, "track BA: vis ", shape_str(vis.shape()), " for tracks ", shape_str(tracks.shape()));
  VG_CHECK(static_cast<int64_t>(xyz.size()) == 3 * N, "track BA: ", xyz.size() / 3, " points for ", N, " tracks");
  VG_CHECK(rgb.empty() || static_cast<int64_t>(rgb.size()) == 3 * N, "track BA: colours for ", rgb.size() / 3,
           " of ", N, " tracks");
  VG_CHECK(opt.camera_type == "SIMPLE_PINHOLE" || opt.camera_type == "PINHOLE", "--camera-type ", opt.camera_type,
           " is not supported for the track BA (SIMPLE_PINHOLE or PINHOLE, as the original)");
  const std::vector<Frame> fr = read_frames(extrinsics, intrinsics, S);
  const std::vector<float> T = tracks.to_vector<float>(), V = vis.to_vector<float>();

  // Kept observations: visible, in front of the initial camera, within max_reproj_error of the projection.
  std::vector<uint8_t> mask(S * N, 0);
  std::vector<int64_t> per_frame(S, 0);
  for (int64_t s = 0; s < S; ++s)
    for (int64_t n = 0; n < N; ++n) {
      if (!(V[s * N + n] > opt.vis_thresh)) continue;
      const Eigen::Vector3d X(xyz[3 * n], xyz[3 * n + 1], xyz[3 * n + 2]);
      const Eigen::Vector3d p = fr[s].R * X + fr[s].t;
      if (!(p.z() > 0) || !X.allFinite()) continue;
      const double u = fr[s].fx * p.x() / p.z() + fr[s].cx, v = fr[s].fy * p.y() / p.z() + fr[s].cy;
      const double e = std::hypot(u - T[(s * N + n) * 2], v - T[(s * N + n) * 2 + 1]);
      if (e < opt.max_reproj_error) {
        mask[s * N + n] = 1;
        ++per_frame[s];
      }
    }

  TrackBaResult r;
  r.tracks = N;
  std::vector<uint8_t> weak(S, 0);
  for (int64_t s = 0; s < S; ++s)
    if (per_frame[s] < opt.min_inlier_per_frame) {
      weak[s] = 1;
      r.weak_frames.push_back(static_cast<int>(s));
    }

  // Valid tracks: two kept observations in the adjusted frames; their points get ids 1.. in track order.
  std::vector<uint64_t> point_id(N, 0);
  uint64_t next = 1;
  for (int64_t n = 0; n < N; ++n) {
    int64_t c = 0;
    for (int64_t s = 0; s < S; ++s) c += mask[s * N + n] && !weak[s];
    if (c < 2) continue;
    point_id[n] = next++;
    ColmapPoint3D pt;
    pt.id = point_id[n];
    pt.xyz = {xyz[3 * n], xyz[3 * n + 1], xyz[3 * n + 2]};
    if (!rgb.empty()) pt.rgb = {rgb[3 * n], rgb[3 * n + 1], rgb[3 * n + 2]};
    r.model.points.emplace(pt.id, std::move(pt));
  }
  r.tracks_valid = static_cast<int64_t>(next - 1);

  for (int64_t s = 0; s < S; ++s) {
    const uint32_t cam_id = opt.shared_camera ? 1u : static_cast<uint32_t>(s + 1);
    if (!r.model.cameras.count(cam_id)) r.model.cameras[cam_id] = make_camera(cam_id, fr[s], opt.camera_type, width, height);
    if (weak[s]) continue;  // added back after the adjustment
    ColmapImage im = make_image(s, fr[s], cam_id);
    for (int64_t n = 0; n < N; ++n) {
      if (!point_id[n] || !mask[s * N + n]) continue;
      ColmapPoint3D& pt = r.model.points.at(point_id[n]);
      if (!(pt.xyz[0] < opt.max_point_value && pt.xyz[1] < opt.max_point_value && pt.xyz[2] < opt.max_point_value))
        continue;  // the original's max_points3D_val: such points get no observations
      pt.track.emplace_back(im.id, static_cast<uint32_t>(im.point3D_ids.size()));
      im.xys.push_back(T[(s * N + n) * 2]);
      im.xys.push_back(T[(s * N + n) * 2 + 1]);
      im.point3D_ids.push_back(static_cast<int64_t>(pt.id));
      ++r.observations;
    }
    r.model.images[im.id] = std::move(im);
  }
  for (auto it = r.model.points.begin(); it != r.model.points.end();)  // points left without observations
    it = it->second.track.empty() ? r.model.points.erase(it) : std::next(it);

  const int64_t adjusted = S - static_cast<int64_t>(r.weak_frames.size());
  std::ostringstream msg;
  if (adjusted < 2 || r.model.points.empty()) {
    r.partial = true;
    msg << "only " << adjusted << " frame(s) with >= " << opt.min_inlier_per_frame << " inlier observations and "
        << r.model.points.size() << " valid tracks: cameras left as VGGT predicted them";
  } else {
    r.initial_mean_error = mean_error(r.model);
    r.ba = bundle_adjust(r.model, opt.ba);
    r.adjusted = true;
    r.final_mean_error = mean_error(r.model);
    msg << "bundle adjustment of " << adjusted << " frames, " << r.model.points.size() << " points, "
        << r.observations << " observations: mean reprojection error " << r.initial_mean_error << " -> "
        << r.final_mean_error << " px (" << r.ba.termination << ")";
  }
  if (!r.weak_frames.empty()) {
    r.partial = true;
    msg << "; " << r.weak_frames.size() << " frame(s) with fewer than " << opt.min_inlier_per_frame
        << " inlier observations kept at VGGT's pose:";
    for (size_t i = 0; i < r.weak_frames.size() && i < 20; ++i) msg << " " << r.weak_frames[i];
    if (r.weak_frames.size() > 20) msg << " ...";
  }
  for (int s : r.weak_frames) {
    const uint32_t cam_id = opt.shared_camera ? 1u : static_cast<uint32_t>(s + 1);
    r.model.images[static_cast<uint32_t>(s + 1)] = make_image(s, fr[s], cam_id);
  }
  r.message = msg.str();
  return r;
}

}  // namespace vg
