// Internal: the bundle-adjustment problem flattened into arrays (the layout both backends share) and the
// backend interface the Levenberg-Marquardt driver (bundle_adjustment.cc) steps through. C++17-clean.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace vg::ba {

struct Problem {
  int num_images = 0, num_cameras = 0, num_points = 0, num_obs = 0;
  std::vector<int> cam_model;          // [C] COLMAP model id
  std::vector<double> cam_params;      // [C * 8] (kMaxCamParams stride)
  std::vector<unsigned char> cam_free; // [C * 8] 1 where the parameter is refined
  std::vector<double> poses;           // [I * 7] qw qx qy qz tx ty tz (world -> camera)
  std::vector<unsigned char> pose_free;// [I * 6] w0 w1 w2 t0 t1 t2
  std::vector<int> image_camera;       // [I] camera index
  std::vector<double> points;          // [P * 3]
  bool points_free = true;
  // Observations sorted by point: those of point p are [point_obs[p], point_obs[p+1]).
  std::vector<int> point_obs;          // [P + 1]
  std::vector<int> obs_image;          // [N]
  std::vector<double> obs_xy;          // [N * 2]
  int loss = 0;                        // 0 trivial, 1 Huber, 2 Cauchy
  double loss_scale = 1;
  // Reduced camera system layout: image i's pose at 6 i; camera c's parameters at cam_offset[c]
  // (kMaxCamParams slots each; unused/fixed ones are masked).
  int num_cam_vars() const { return 6 * num_images + 8 * num_cameras; }
  int cam_offset(int c) const { return 6 * num_images + 8 * c; }
};

struct StepResult {
  bool valid = false;          // the linear solve succeeded and the model decrease is positive
  double model_cost_change = 0;
  double step_norm = 0;        // ||dx|| (tangent space)
  double x_norm = 0;           // ||x|| (ambient parameters)
  double candidate_cost = 0;
};

// One backend: holds the parameters (current and candidate) and the linearisation.
class Solver {
 public:
  virtual ~Solver() = default;
  // Residuals and Jacobians at the current parameters; returns the cost. On the first call, also fixes
  // the Jacobi scaling (Ceres computes it once, at iteration 0).
  virtual double linearize() = 0;
  virtual double gradient_max_norm() = 0;
  // Solves (J^T J + D / radius) dx = -J^T r with the Schur complement on the points, forms the
  // candidate x (+) dx and evaluates its cost.
  virtual StepResult step(double radius) = 0;
  virtual void accept() = 0;  // x <- candidate
  virtual double cost() = 0;  // cost at the current x
  virtual void download(Problem& p) = 0;  // current parameters back into p
};

std::unique_ptr<Solver> make_cpu_solver(const Problem& p);
std::unique_ptr<Solver> make_cuda_solver(const Problem& p, int device_index);

}  // namespace vg::ba
