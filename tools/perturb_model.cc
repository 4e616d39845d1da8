// perturb_model: ground-truth cameras, perturbed, as a COLMAP model: the initial model for the
// "refine from perturbed ground truth" evaluation (tools/refine_eval.sh -> `vgsplat refine --init-model`).
//   perturb_model --gt <strecha gt_dense_cameras folder | transforms.json> --out DIR
//                 [--rot-deg 3] [--pos-frac 0.1] [--focal-frac 0.1] [--seed 0]
//                 [--camera-model auto|SIMPLE_PINHOLE|PINHOLE|SIMPLE_RADIAL|RADIAL|OPENCV] [--single-camera]
//                 [--images DIR]
// Each image (in name order, one std::mt19937_64 seeded with --seed):
//   rotation:  world->camera R' = dR R, dR a rotation by exactly --rot-deg degrees about a uniformly random axis
//              (so the rotation error of every camera is exactly --rot-deg before any alignment);
//   centre:    C' = C + u * pos_frac * radius, u a uniformly random unit vector; the scene radius is the RMS
//              distance of the true centres from their mean (robust to one far camera, unlike a bounding box);
//   focal:     fx, fy multiplied by one factor drawn uniformly from [1 - f, 1 + f], per camera (one camera per
//              image; --single-camera: one shared camera, perturbed once).
// Principal point, image size and distortion stay the true ones. --camera-model auto (default): OPENCV when the
// ground truth has distortion (fox: k1 k2 p1 p2), else PINHOLE (Strecha); PINHOLE / SIMPLE_PINHOLE drop the
// distortion, SIMPLE_* use f = (fx + fy) / 2, RADIAL models keep k1 (k2). Image names are the image file names
// ("0000.jpg"; transforms.json: the basename of file_path). --images DIR: ground-truth images missing there are
// left out, and intrinsics are rescaled when the files have another size than the ground truth says.
// Writes DIR/cameras, images (.bin and .txt) and an empty points3D.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Dense>
#include <Eigen/Geometry>

#include "core/error.h"
#include "io/colmap.h"
#include "io/image.h"
#include "tools/gt_cameras.h"

namespace {

namespace fs = std::filesystem;
using vg::tools::GtCamera;

struct Options {
  fs::path gt, out, images;
  double rot_deg = 3, pos_frac = 0.1, focal_frac = 0.1;
  uint64_t seed = 0;
  std::string camera_model = "auto";
  bool single_camera = false;
};

int usage() {
  std::fprintf(stderr,
               "usage: perturb_model --gt <gt_dense_cameras dir | transforms.json> --out DIR [--rot-deg 3]\n"
               "                     [--pos-frac 0.1] [--focal-frac 0.1] [--seed 0] [--camera-model auto|NAME]\n"
               "                     [--single-camera] [--images DIR]\n");
  return 2;
}

Eigen::Vector3d random_unit(std::mt19937_64& rng) {
  std::normal_distribution<double> n(0.0, 1.0);
  for (;;) {
    const Eigen::Vector3d v(n(rng), n(rng), n(rng));
    if (v.norm() > 1e-9) return v.normalized();
  }
}

// COLMAP parameters of `model` for intrinsics K (focal scaled by `focal`) and distortion d.
std::vector<double> camera_params(const std::string& model, const vg::Intrinsics& K, const vg::Distortion& d,
                                  double focal) {
  const double fx = K.fx * focal, fy = K.fy * focal, f = 0.5 * (fx + fy);
  if (model == "SIMPLE_PINHOLE") return {f, K.cx, K.cy};
  if (model == "PINHOLE") return {fx, fy, K.cx, K.cy};
  if (model == "SIMPLE_RADIAL") return {f, K.cx, K.cy, d.k1};
  if (model == "RADIAL") return {f, K.cx, K.cy, d.k1, d.k2};
  if (model == "OPENCV") return {fx, fy, K.cx, K.cy, d.k1, d.k2, d.p1, d.p2};
  VG_FAIL("--camera-model: SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL or OPENCV, not '", model, "'");
}

// The distortion terms `model` cannot hold (for a note).
bool drops_distortion(const std::string& model, const vg::Distortion& d) {
  if (model == "OPENCV") return d.k3 != 0;
  if (model == "RADIAL") return d.p1 != 0 || d.p2 != 0 || d.k3 != 0;
  if (model == "SIMPLE_RADIAL") return d.k2 != 0 || d.p1 != 0 || d.p2 != 0 || d.k3 != 0;
  return d.any();
}

int run(const Options& o) {
  VG_CHECK(o.rot_deg >= 0 && o.rot_deg < 180, "--rot-deg must be in [0, 180)");
  VG_CHECK(o.pos_frac >= 0, "--pos-frac must be >= 0");
  VG_CHECK(o.focal_frac >= 0 && o.focal_frac < 1, "--focal-frac must be in [0, 1)");
  std::map<std::string, GtCamera> gt = vg::tools::read_gt_cameras(o.gt);

  // --images: keep the ground-truth images that exist there, at the files' size.
  if (!o.images.empty()) {
    VG_CHECK(fs::is_directory(o.images), "--images: ", o.images.string(), " is not a folder");
    int missing = 0, rescaled = 0;
    for (auto it = gt.begin(); it != gt.end();) {
      const fs::path file = o.images / it->first;
      if (!fs::exists(file)) {
        std::fprintf(stderr, "perturb_model: %s is not in %s: left out\n", it->first.c_str(), o.images.string().c_str());
        ++missing;
        it = gt.erase(it);
        continue;
      }
      const vg::ImageInfo info = vg::read_image_info(file);
      vg::Intrinsics& K = it->second.K;
      if (K.width > 0 && K.height > 0 && (info.width != K.width || info.height != K.height)) {
        const double sx = static_cast<double>(info.width) / K.width, sy = static_cast<double>(info.height) / K.height;
        VG_CHECK(std::abs(sx - sy) < 0.01 * std::max(sx, sy), it->first, ": the file is ", info.width, "x",
                 info.height, " but the ground truth is for ", K.width, "x", K.height, " (another aspect ratio)");
        K.fx *= sx;
        K.fy *= sy;
        K.cx = (K.cx + 0.5) * sx - 0.5;  // pixel centres at integer coordinates (COLMAP's convention)
        K.cy = (K.cy + 0.5) * sy - 0.5;
        ++rescaled;
      }
      K.width = info.width;
      K.height = info.height;
      ++it;
    }
    int extra = 0;
    for (const auto& e : fs::directory_iterator(o.images))
      if (e.is_regular_file() && e.path().filename().string()[0] != '.' && !gt.count(e.path().filename().string()))
        ++extra;
    if (missing || rescaled || extra)
      std::printf("perturb_model: --images: %d ground-truth images missing, %d rescaled, %d files without ground truth\n",
                  missing, rescaled, extra);
  }
  VG_CHECK(gt.size() >= 2, "need at least 2 ground-truth cameras, got ", gt.size());

  bool distorted = false;
  for (const auto& [name, c] : gt) distorted = distorted || c.dist.any();
  const std::string model = o.camera_model == "auto" ? (distorted ? "OPENCV" : "PINHOLE") : o.camera_model;
  VG_CHECK(vg::colmap_model_id(model) >= 0, "unknown camera model '", model, "'");

  // Scene radius: RMS distance of the true centres from their mean.
  std::vector<Eigen::Vector3d> centers;
  for (const auto& [name, c] : gt)
    centers.push_back(-c.cam_from_world.topLeftCorner<3, 3>().transpose() * c.cam_from_world.topRightCorner<3, 1>());
  Eigen::Vector3d mean = Eigen::Vector3d::Zero();
  for (const auto& c : centers) mean += c;
  mean /= static_cast<double>(centers.size());
  double ms = 0;
  for (const auto& c : centers) ms += (c - mean).squaredNorm();
  const double radius = std::sqrt(ms / static_cast<double>(centers.size()));
  VG_CHECK(radius > 0, "the ground-truth cameras all have one centre: no scene radius");

  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> focal_dist(1.0 - o.focal_frac, 1.0 + o.focal_frac);
  vg::ColmapModel m;

  // --single-camera: the mean ground-truth intrinsics, perturbed once.
  double single_focal = 1.0;
  if (o.single_camera) {
    const GtCamera& first = gt.begin()->second;
    vg::Intrinsics K{0, 0, 0, 0, first.K.width, first.K.height};
    vg::Distortion d;
    double spread = 0;
    for (const auto& [name, c] : gt) {
      VG_CHECK(c.K.width == K.width && c.K.height == K.height, "--single-camera: ", name, " is ", c.K.width, "x",
               c.K.height, ", ", gt.begin()->first, " is ", K.width, "x", K.height);
      spread = std::max({spread, std::abs(c.K.fx - first.K.fx), std::abs(c.K.fy - first.K.fy),
                         std::abs(c.K.cx - first.K.cx), std::abs(c.K.cy - first.K.cy)});
      const double w = 1.0 / static_cast<double>(gt.size());
      K.fx += w * c.K.fx, K.fy += w * c.K.fy, K.cx += w * c.K.cx, K.cy += w * c.K.cy;
      d.k1 += w * c.dist.k1, d.k2 += w * c.dist.k2, d.p1 += w * c.dist.p1, d.p2 += w * c.dist.p2, d.k3 += w * c.dist.k3;
    }
    if (spread == 0) K = first.K, d = first.dist;  // the usual case: exactly the ground truth's
    if (spread > 0.01)
      std::printf("perturb_model: --single-camera: the ground-truth intrinsics differ by up to %.3f px; using their "
                  "mean\n", spread);
    single_focal = focal_dist(rng);
    m.cameras[1] = {1, model, K.width, K.height, camera_params(model, K, d, single_focal)};
  }

  double sum_rot = 0, sum_center = 0, sum_focal = 0, max_focal = 0;
  int dropped = 0;
  uint32_t id = 0;
  for (const auto& [name, c] : gt) {
    ++id;
    const Eigen::Matrix3d R = c.cam_from_world.topLeftCorner<3, 3>();
    const Eigen::Vector3d C = -R.transpose() * c.cam_from_world.topRightCorner<3, 1>();
    const Eigen::Vector3d axis = random_unit(rng);
    const Eigen::Matrix3d dR = Eigen::AngleAxisd(o.rot_deg * M_PI / 180.0, axis).toRotationMatrix();
    const Eigen::Vector3d shift = random_unit(rng) * (o.pos_frac * radius);
    const Eigen::Matrix3d R2 = dR * R;
    const Eigen::Vector3d C2 = C + shift;
    const Eigen::Vector3d t2 = -R2 * C2;

    vg::ColmapImage im;
    im.id = id;
    const Eigen::Quaterniond q(R2);
    im.qvec = {q.w(), q.x(), q.y(), q.z()};
    im.tvec = {t2.x(), t2.y(), t2.z()};
    im.name = name;
    if (o.single_camera) {
      im.camera_id = 1;
    } else {
      const double f = focal_dist(rng);
      sum_focal += std::abs(f - 1.0);
      max_focal = std::max(max_focal, std::abs(f - 1.0));
      m.cameras[id] = {id, model, c.K.width, c.K.height, camera_params(model, c.K, c.dist, f)};
      im.camera_id = id;
    }
    dropped += drops_distortion(model, c.dist) ? 1 : 0;
    m.images[id] = im;

    // What was applied, measured back from the written pose.
    const Eigen::Matrix3d Rw = im.world_to_camera().topLeftCorner<3, 3>();
    const double cos = std::clamp(((Rw * R.transpose()).trace() - 1.0) / 2.0, -1.0, 1.0);
    sum_rot += std::acos(cos) * 180.0 / M_PI;
    sum_center += (C2 - C).norm();
  }
  if (o.single_camera) {  // one factor, reported per image
    sum_focal = std::abs(single_focal - 1.0) * static_cast<double>(gt.size());
    max_focal = std::abs(single_focal - 1.0);
  }

  fs::create_directories(o.out);
  vg::write_colmap_bin(o.out, m);
  vg::write_colmap_txt(o.out, m);
  const double n = static_cast<double>(gt.size());
  std::printf("perturb_model: %zu images, %zu %s camera%s -> %s\n", gt.size(), m.cameras.size(), model.c_str(),
              m.cameras.size() == 1 ? "" : "s", o.out.string().c_str());
  if (dropped > 0) std::printf("  distortion terms the %s model cannot hold were dropped (%d images)\n", model.c_str(), dropped);
  std::printf("  scene radius (RMS distance of the true centres from their mean) %.5f\n", radius);
  std::printf("  applied: rotation mean %.4f deg, centre shift mean %.5f (%.4f x radius), focal |factor - 1| mean "
              "%.4f max %.4f (seed %llu)\n",
              sum_rot / n, sum_center / n, sum_center / n / radius, sum_focal / n, max_focal,
              static_cast<unsigned long long>(o.seed));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--single-camera") {
        o.single_camera = true;
        continue;
      }
      if (a == "-h" || a == "--help") {
        usage();
        return 0;
      }
      if (i + 1 >= argc) return usage();
      const std::string v = argv[++i];
      if (a == "--gt") o.gt = v;
      else if (a == "--out") o.out = v;
      else if (a == "--images") o.images = v;
      else if (a == "--rot-deg") o.rot_deg = std::stod(v);
      else if (a == "--pos-frac") o.pos_frac = std::stod(v);
      else if (a == "--focal-frac") o.focal_frac = std::stod(v);
      else if (a == "--seed") o.seed = std::stoull(v);
      else if (a == "--camera-model") o.camera_model = v;
      else return usage();
    }
    if (o.gt.empty() || o.out.empty()) return usage();
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "perturb_model: error: %s\n", e.what());
    return 1;
  }
}
