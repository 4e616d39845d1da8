// Camera pose optimisation, as gsplat's CameraOptModule (examples/utils.py) behind simple_trainer's
// --pose-opt: one 9-dim residual per training image, (dx, d6) = 3 translation + 6D rotation delta
// (Zhou et al. 2019, "On the Continuity of Rotation Representations", Sec. B), zero-initialised, applied
// on the right of the camera-to-world matrix: c2w' = c2w [rot6d(d6 + identity) | dx]. Its own Adam
// (torch defaults, L2 weight decay --pose-opt-reg added to the gradient, as torch.optim.Adam's
// weight_decay) steps every row after each training step, with the learning rate decaying to 1% at
// max_steps (ExponentialLR; --pose-opt-lr-final sets that fraction). --pose-noise perturbs the training
// cameras the same way with normal(0, std) residuals (gsplat random_init), to test it. The math runs on the host in double: one [4,4]
// viewmat gradient per step comes from preprocess_backward.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Geometry>
#include <filesystem>

#include "core/tensor.h"
#include "splat/adam.h"
#include "splat/camera.h"

namespace vg {

namespace pose {

using Mat34 = std::array<double, 12>;  // world -> camera [R | t], row-major (the top of a viewmat)

// pytorch3d rotation_6d_to_matrix: rows b1 = normalise(a1), b2 = normalise(a2 - (b1.a2) b1), b3 = b1 x b2.
void rotation_6d_to_matrix(const double* d6, double* R);
// v_d6 = d loss / d d6 given G = d loss / d R (row-major 3x3).
void rotation_6d_to_matrix_vjp(const double* d6, const double* G, double* v_d6);

Mat34 to_mat34(const Camera& cam);
void set_viewmat(Camera& cam, const Mat34& m);

// The world -> camera transform of c2w [rot6d(delta[3:9] + identity) | delta[0:3]]: R' = Rd^T R,
// t' = Rd^T (t - dx).
Mat34 apply_delta(const Mat34& viewmat, const double* delta);
// v_delta (9) = d loss / d delta given v_out = d loss / d [R' | t'] (row-major [3,4] or the top of [4,4]).
void apply_delta_vjp(const Mat34& viewmat, const double* delta, const double* v_out, double* v_delta);

// Rotation angle (degrees) between two world -> camera rotations, and the distance of their centres.
double rotation_error_deg(const Mat34& a, const Mat34& b);
double center_distance(const Mat34& a, const Mat34& b);

// A similarity of the world, x' = s R x + t.
struct Sim3 {
  double s = 1;
  Eigen::Matrix3d R = Eigen::Matrix3d::Identity();
  Eigen::Vector3d t = Eigen::Vector3d::Zero();
};
Eigen::Vector3d camera_center(const Mat34& viewmat);  // -R^T t
// The world similarity that maps the cameras `from` onto `to`: the rotation the chordal mean of the
// cameras' relative rotations, then scale and translation from the centres in least squares (scale 1 when
// the centres coincide).
Sim3 fit_sim3(const std::vector<Mat34>& from, const std::vector<Mat34>& to);
// The same camera in the world x' = s R x + t: [Rv R^T | s tv - Rv R^T t] (rigid, unit scale).
Mat34 transform_viewmat(const Mat34& viewmat, const Sim3& S);

}  // namespace pose

struct PoseOptConfig {
  bool optimise = false;  // --pose-opt
  float lr = 1e-5f;       // --pose-opt-lr (gsplat default; x sqrt(batch size) = 1)
  float reg = 1e-6f;      // --pose-opt-reg: Adam weight decay
  float noise = 0.0f;     // --pose-noise: std of the perturbation residuals (0: none)
  int max_steps = 30000;  // the learning rate reaches lr x lr_final here
  uint64_t seed = 42;     // of the perturbation
  int start = 0;          // --pose-opt-start: no Adam step (the gradient dropped) before this step
  float lr_final = 0.01f;  // --pose-opt-lr-final: the learning rate decays exponentially to lr x this (gsplat: 1%)
};

class PoseOptimizer {
 public:
  // n_images: the training views.
  PoseOptimizer(int n_images, const PoseOptConfig& cfg);

  bool optimising() const { return cfg_.optimise; }
  // The camera a training step renders: the dataset's camera of training view `image`, perturbed
  // (--pose-noise), then adjusted by the embedding (--pose-opt).
  Camera train_camera(int image, const Camera& given) const;
  // After preprocess_backward of training view `image` (camera `given` from the dataset) with its
  // d loss / d viewmat ([4,4], any device): the embedding's gradient, then one Adam step over all rows
  // at 0-based training step `step`.
  void step(int image, const Camera& given, const Tensor& v_viewmat, int step);
  // The same in two parts, for a batch of views (--batch-size): each view's gradient, weighted (1 / batch: the
  // batch's loss is the mean of its views'), into the embedding's gradient; then one Adam step.
  void accumulate(int image, const Camera& given, const Tensor& v_viewmat, float weight = 1.0f);
  void step(int step);
  double lr(int step) const;

  // The camera training started from: the dataset's (`given`), perturbed by --pose-noise.
  pose::Mat34 initial(int image, const Camera& given) const;
  // The optimisation's gauge: the similarity that maps the training cameras as they started (given,
  // perturbed) onto the adjusted ones. Evaluation moves the test cameras (given in the dataset's frame) by it.
  pose::Sim3 gauge(const std::vector<Camera>& given) const;

  // Mean / max rotation error (deg) and mean centre distance of the adjusted training cameras against
  // `truth` (the dataset's cameras: with --pose-noise, what the optimisation should recover).
  // The *_aligned figures after the similarity that best maps `truth` onto the adjusted cameras (the error
  // less the gauge freedom: a common rotation, translation and scale of all cameras and the scene).
  struct Error {
    double rot_mean_deg = 0, rot_max_deg = 0, trans_mean = 0;
    double rot_mean_aligned_deg = 0, rot_max_aligned_deg = 0, trans_mean_aligned = 0;
  };
  Error error_vs(const std::vector<Camera>& truth) const;

  const Tensor& embeds() const { return embeds_; }  // CPU F32 [n, 9]
  const AdamState& adam() const { return adam_; }
  // Checkpoint restore: the embedding and its Adam state (shapes checked).
  void restore(const Tensor& embeds, const AdamState& adam);

 private:
  PoseOptConfig cfg_;
  int n_;
  Tensor embeds_;                              // [n, 9] (dx, d6 residual), CPU
  AdamState adam_;
  Tensor grad_;                                // [n, 9] accumulated since the last step, CPU
  std::vector<std::array<double, 9>> noise_;  // perturbation residuals (zero without --pose-noise)
};

// <result_dir>/poses/train_poses_<step>.json: per training image (`names`, dataset cameras `given` in the
// normalised world) the camera-to-world matrix the training ended with and the given one, both in the
// dataset's original world frame (`transform`: original -> normalised similarity), OpenCV axes (x right,
// y down, z forward), with the rotation (deg) and centre change; the means; with --pose-noise the error
// of the optimised cameras against the given ones.
void write_pose_report(const std::filesystem::path& file, const PoseOptimizer& po, const PoseOptConfig& cfg,
                       const std::vector<std::string>& names, const std::vector<Camera>& given,
                       const Eigen::Matrix4d& transform, int step);

}  // namespace vg
