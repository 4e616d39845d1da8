// CUDA bundle-adjustment backend: Jacobians, the Schur complement products and the reduced camera system
// solved on the GPU in double: formed explicitly and factored by dense Cholesky up to 4096 camera-side
// variables, otherwise by block-Jacobi preconditioned conjugate gradients, where the Schur complement
// S = A + D - W V^-1 W^T is applied implicitly: S x = D x + sum_o J_oc^T (J_oc x - Jp_o V^-1 sum Jp^T J_oc x).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>
#include <vector>

#include "core/cuda_check.h"
#include "core/cuda_dense_cholesky.h"
#include "core/cuda_memory.h"
#include "sfm/bundle_adjustment_kernels.cuh"
#include "sfm/bundle_adjustment_problem.h"

namespace vg::ba {
namespace {

using namespace vg::ba::cuda;

template <typename T>
class DevBuf {
 public:
  DevBuf() = default;
  DevBuf(size_t n, int dev) : n_(n), dev_(dev) {
    if (n) p_ = static_cast<T*>(cuda_alloc(n * sizeof(T), dev));
    if (n) cuda_memset_zero(p_, n * sizeof(T));
  }
  DevBuf(const std::vector<T>& v, int dev) : DevBuf(v.size(), dev) {
    if (n_) cuda_copy(p_, Device::cuda(dev_), v.data(), Device::cpu(), n_ * sizeof(T));
  }
  DevBuf(DevBuf&& o) noexcept { *this = std::move(o); }
  DevBuf& operator=(DevBuf&& o) noexcept {
    std::swap(p_, o.p_), std::swap(n_, o.n_), std::swap(dev_, o.dev_);
    return *this;
  }
  ~DevBuf() {
    if (p_) cuda_free(p_, dev_);
  }
  T* get() const { return p_; }
  size_t size() const { return n_; }
  void zero() {
    if (n_) cuda_memset_zero(p_, n_ * sizeof(T));
  }
  std::vector<T> host() const {
    std::vector<T> v(n_);
    if (n_) cuda_copy(v.data(), Device::cpu(), p_, Device::cuda(dev_), n_ * sizeof(T));
    return v;
  }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
  int dev_ = 0;
};

unsigned blocks(long long n) { return grid_for(n, kBlock); }

// Largest reduced camera system solved densely (4096^2 doubles = 128 MiB); VGSPLAT_BA_PCG=1 forces PCG.
int dense_max_vars() {
  const char* e = std::getenv("VGSPLAT_BA_PCG");
  return e && *e && *e != '0' ? 0 : 4096;
}

class CudaSolver final : public Solver {
 public:
  CudaSolver(const Problem& p, int dev) : dev_(dev), I_(p.num_images), C_(p.num_cameras), P_(p.num_points), N_(p.num_obs) {
    set_current_device(Device::cuda(dev));
    ncv_ = p.num_cam_vars();
    dense_ = ncv_ <= dense_max_vars();
    cam_model_ = DevBuf<int>(p.cam_model, dev), image_camera_ = DevBuf<int>(p.image_camera, dev);
    point_obs_ = DevBuf<int>(p.point_obs, dev), obs_image_ = DevBuf<int>(p.obs_image, dev);
    std::vector<int> obs_point(N_);
    for (int j = 0; j < P_; ++j)
      for (int o = p.point_obs[j]; o < p.point_obs[j + 1]; ++o) obs_point[o] = j;
    obs_point_ = DevBuf<int>(obs_point, dev);
    cam_free_ = DevBuf<unsigned char>(p.cam_free, dev), pose_free_ = DevBuf<unsigned char>(p.pose_free, dev);
    obs_xy_ = DevBuf<double>(p.obs_xy, dev);
    for (int k = 0; k < 2; ++k) {
      poses_[k] = DevBuf<double>(p.poses, dev), cams_[k] = DevBuf<double>(p.cam_params, dev);
      points_[k] = DevBuf<double>(p.points, dev);
    }
    s_ = Static{I_, C_, P_, N_, p.loss, p.loss_scale, p.points_free, cam_model_.get(), image_camera_.get(),
                point_obs_.get(), obs_image_.get(), obs_point_.get(), cam_free_.get(), pose_free_.get(), obs_xy_.get()};
    r_ = DevBuf<double>(2 * N_, dev), Jpose_ = DevBuf<double>(12 * N_, dev);
    Jcam_ = DevBuf<double>(2 * kMaxCamParams * N_, dev), Jpt_ = DevBuf<double>(6 * N_, dev);
    V_ = DevBuf<double>(9 * P_, dev), gp_ = DevBuf<double>(3 * P_, dev), Vinv_ = DevBuf<double>(9 * P_, dev);
    diag_p_ = DevBuf<double>(3 * P_, dev), scale_p_ = DevBuf<double>(3 * P_, dev), Dp_ = DevBuf<double>(3 * P_, dev);
    zp_ = DevBuf<double>(3 * P_, dev), dp_ = DevBuf<double>(3 * P_, dev);
    obs_val_ = DevBuf<double>(N_, dev), u_ = DevBuf<double>(2 * N_, dev);
    for (DevBuf<double>* b : {&gc_, &diag_c_, &scale_c_, &Dc_, &rhs_, &x_, &res_, &z_, &pv_, &q_})
      *b = DevBuf<double>(ncv_, dev);
    M_ = DevBuf<double>(36 * I_ + 64 * C_, dev), Minv_ = DevBuf<double>(36 * I_ + 64 * C_, dev);
    scalar_ = DevBuf<double>(1, dev);
  }

  double linearize() override {
    set_current_device(Device::cuda(dev_));
    Lin L = lin();
    k_linearize<<<blocks(N_), kBlock>>>(s_, params(0), L, obs_val_.get());
    VG_CUDA_CHECK_LAUNCH();
    const double cost = sum(obs_val_.get(), N_);
    if (P_ > 0) {
      k_point_accumulate<<<blocks(P_), kBlock>>>(s_, L, diag_p_.get());
      VG_CUDA_CHECK_LAUNCH();
    }
    gc_.zero(), diag_c_.zero();
    k_cam_accumulate<<<blocks(N_), kBlock>>>(s_, L, gc_.get(), diag_c_.get());
    VG_CUDA_CHECK_LAUNCH();
    if (!scaled_) {  // Jacobi scaling fixed at iteration 0, as Ceres
      k_jacobi_scale<<<blocks(ncv_), kBlock>>>(ncv_, diag_c_.get(), scale_c_.get());
      VG_CUDA_CHECK_LAUNCH();
      if (P_ > 0) {
        k_jacobi_scale<<<blocks(3 * P_), kBlock>>>(3 * P_, diag_p_.get(), scale_p_.get());
        VG_CUDA_CHECK_LAUNCH();
      }
      scaled_ = true;
    }
    return cost;
  }

  double gradient_max_norm() override {
    double m = 0;
    for (double g : gc_.host()) m = std::fmax(m, std::fabs(g));
    for (double g : gp_.host()) m = std::fmax(m, std::fabs(g));
    return m;
  }

  StepResult step(double radius) override {
    set_current_device(Device::cuda(dev_));
    StepResult res;
    Lin L = lin();
    k_lm_diag<<<blocks(ncv_), kBlock>>>(ncv_, diag_c_.get(), scale_c_.get(), radius, Dc_.get());
    VG_CUDA_CHECK_LAUNCH();
    if (P_ > 0) {
      k_lm_diag<<<blocks(3 * P_), kBlock>>>(3 * P_, diag_p_.get(), scale_p_.get(), radius, Dp_.get());
      VG_CUDA_CHECK_LAUNCH();
      k_point_prepare<<<blocks(P_), kBlock>>>(s_, L, Dp_.get(), Vinv_.get(), zp_.get());
      VG_CUDA_CHECK_LAUNCH();
    }
    // b = -g_c + W V^-1 g_p = -sum_o J_oc^T (r_o - Jp_o V^-1 g_p).
    rhs_.zero();
    k_obs_scatter<<<blocks(N_), kBlock>>>(s_, L, r_.get(), zp_.get(), -1.0, rhs_.get());
    VG_CUDA_CHECK_LAUNCH();
    if (!(dense() ? dense_solve() : pcg())) return res;
    // dp = -V^-1 (g_p + sum_o Jp_o^T J_oc dc).
    k_obs_jc<<<blocks(N_), kBlock>>>(s_, L, x_.get(), u_.get());
    VG_CUDA_CHECK_LAUNCH();
    if (P_ > 0) {
      k_point_solve<<<blocks(P_), kBlock>>>(s_, L, Vinv_.get(), gp_.get(), u_.get(), -1.0, dp_.get());
      VG_CUDA_CHECK_LAUNCH();
    }
    k_model<<<blocks(N_), kBlock>>>(s_, L, u_.get(), dp_.get(), obs_val_.get());
    VG_CUDA_CHECK_LAUNCH();
    res.model_cost_change = -sum(obs_val_.get(), N_);
    res.step_norm = std::sqrt(dot(x_.get(), x_.get(), ncv_) + dot(dp_.get(), dp_.get(), 3 * P_));
    res.x_norm = std::sqrt(dot(poses_[0].get(), poses_[0].get(), 7 * I_) +
                           dot(cams_[0].get(), cams_[0].get(), kMaxCamParams * C_) +
                           dot(points_[0].get(), points_[0].get(), 3 * P_));
    // Candidate x (+) dx.
    k_update_poses<<<blocks(I_), kBlock>>>(I_, poses_[0].get(), x_.get(), poses_[1].get());
    VG_CUDA_CHECK_LAUNCH();
    k_add<<<blocks(kMaxCamParams * C_), kBlock>>>(kMaxCamParams * C_, cams_[0].get(), x_.get() + 6 * I_,
                                                  cams_[1].get());
    VG_CUDA_CHECK_LAUNCH();
    if (P_ > 0) {
      k_add<<<blocks(3 * P_), kBlock>>>(3 * P_, points_[0].get(), dp_.get(), points_[1].get());
      VG_CUDA_CHECK_LAUNCH();
    }
    k_cost<<<blocks(N_), kBlock>>>(s_, params(1), obs_val_.get());
    VG_CUDA_CHECK_LAUNCH();
    res.candidate_cost = sum(obs_val_.get(), N_);
    res.valid = std::isfinite(res.model_cost_change) && res.model_cost_change > 0;
    return res;
  }

  void accept() override {
    std::swap(poses_[0], poses_[1]), std::swap(cams_[0], cams_[1]), std::swap(points_[0], points_[1]);
  }

  double cost() override {
    set_current_device(Device::cuda(dev_));
    k_cost<<<blocks(N_), kBlock>>>(s_, params(0), obs_val_.get());
    VG_CUDA_CHECK_LAUNCH();
    return sum(obs_val_.get(), N_);
  }

  void download(Problem& p) override {
    p.poses = poses_[0].host(), p.cam_params = cams_[0].host(), p.points = points_[0].host();
  }

 private:
  Lin lin() const { return Lin{r_.get(), Jpose_.get(), Jcam_.get(), Jpt_.get(), V_.get(), gp_.get()}; }
  Params params(int k) const { return Params{poses_[k].get(), cams_[k].get(), points_[k].get()}; }

  double dot(const double* a, const double* b, long long n) {
    if (n <= 0) return 0;
    scalar_.zero();
    const unsigned g = std::min<unsigned>(blocks(n), 1024);
    k_dot<<<g, kBlock>>>(static_cast<int>(n), a, b, scalar_.get());
    VG_CUDA_CHECK_LAUNCH();
    return scalar_.host()[0];
  }
  double sum(const double* a, long long n) { return dot(a, nullptr, n); }

  // q = S p, applied implicitly through the per-observation Jacobians.
  void apply_schur(const double* p, double* q) {
    Lin L = lin();
    k_obs_jc<<<blocks(N_), kBlock>>>(s_, L, p, u_.get());
    VG_CUDA_CHECK_LAUNCH();
    if (P_ > 0) {
      k_point_solve<<<blocks(P_), kBlock>>>(s_, L, Vinv_.get(), nullptr, u_.get(), 1.0, zp_.get());
      VG_CUDA_CHECK_LAUNCH();
    }
    cuda_memset_zero(q, ncv_ * sizeof(double));
    k_obs_scatter<<<blocks(N_), kBlock>>>(s_, L, u_.get(), zp_.get(), 1.0, q);
    VG_CUDA_CHECK_LAUNCH();
    k_axpy_diag<<<blocks(ncv_), kBlock>>>(ncv_, Dc_.get(), p, q);
    VG_CUDA_CHECK_LAUNCH();
  }

  void precond(const double* r, double* z) {
    k_precond_apply<<<blocks(ncv_), kBlock>>>(I_, C_, Minv_.get(), r, z);
    VG_CUDA_CHECK_LAUNCH();
  }

  // Small reduced systems (every SfM problem up to a few hundred images) are formed explicitly and
  // factored by dense Cholesky, an exact solve like the CPU backend's; PCG for the rest.
  bool dense() const { return dense_; }

  bool dense_solve() {
    if (S_.size() == 0) S_ = DevBuf<double>(static_cast<size_t>(ncv_) * ncv_, dev_);
    S_.zero();
    Lin L = lin();
    k_schur_dense<<<blocks(N_), kBlock>>>(s_, L, Vinv_.get(), ncv_, S_.get());
    VG_CUDA_CHECK_LAUNCH();
    k_dense_add_diag<<<blocks(ncv_), kBlock>>>(ncv_, Dc_.get(), S_.get());
    VG_CUDA_CHECK_LAUNCH();
    VG_CUDA_CHECK(cudaMemcpy(x_.get(), rhs_.get(), ncv_ * sizeof(double), cudaMemcpyDeviceToDevice));
    return cuda_dense_cholesky_solve(S_.get(), x_.get(), ncv_);
  }

  // Block-Jacobi PCG on S x = b (b in rhs_), x from 0, to a relative residual of 1e-10.
  bool pcg() {
    Lin L = lin();
    M_.zero();
    k_precond<<<blocks(N_), kBlock>>>(s_, L, Vinv_.get(), M_.get());
    VG_CUDA_CHECK_LAUNCH();
    k_precond_invert<<<blocks(I_ + C_), kBlock>>>(I_, C_, Dc_.get(), M_.get(), Minv_.get());
    VG_CUDA_CHECK_LAUNCH();
    const int max_iter = std::min(std::max(ncv_, 10), 1000);
    x_.zero();
    VG_CUDA_CHECK(cudaMemcpy(res_.get(), rhs_.get(), ncv_ * sizeof(double), cudaMemcpyDeviceToDevice));
    const double bnorm = std::sqrt(dot(rhs_.get(), rhs_.get(), ncv_));
    if (!std::isfinite(bnorm)) return false;
    if (bnorm == 0) return true;
    precond(res_.get(), z_.get());
    VG_CUDA_CHECK(cudaMemcpy(pv_.get(), z_.get(), ncv_ * sizeof(double), cudaMemcpyDeviceToDevice));
    double rz = dot(res_.get(), z_.get(), ncv_);
    for (int it = 0; it < max_iter; ++it) {
      apply_schur(pv_.get(), q_.get());
      const double pq = dot(pv_.get(), q_.get(), ncv_);
      if (!(pq > 0) || !std::isfinite(pq)) return it > 0;
      const double alpha = rz / pq;
      k_xr_update<<<blocks(ncv_), kBlock>>>(ncv_, alpha, pv_.get(), q_.get(), x_.get(), res_.get());
      VG_CUDA_CHECK_LAUNCH();
      if (std::sqrt(dot(res_.get(), res_.get(), ncv_)) <= 1e-10 * bnorm) break;
      precond(res_.get(), z_.get());
      const double rz_new = dot(res_.get(), z_.get(), ncv_);
      k_p_update<<<blocks(ncv_), kBlock>>>(ncv_, rz_new / rz, z_.get(), pv_.get());
      VG_CUDA_CHECK_LAUNCH();
      rz = rz_new;
    }
    return true;
  }

  int dev_, I_, C_, P_, N_, ncv_ = 0;
  bool scaled_ = false, dense_ = false;
  Static s_{};
  DevBuf<int> cam_model_, image_camera_, point_obs_, obs_image_, obs_point_;
  DevBuf<unsigned char> cam_free_, pose_free_;
  DevBuf<double> obs_xy_, poses_[2], cams_[2], points_[2];
  DevBuf<double> r_, Jpose_, Jcam_, Jpt_, V_, gp_, Vinv_, diag_p_, scale_p_, Dp_, zp_, dp_, obs_val_, u_;
  DevBuf<double> gc_, diag_c_, scale_c_, Dc_, rhs_, x_, res_, z_, pv_, q_, M_, Minv_, scalar_, S_;
};

}  // namespace

std::unique_ptr<Solver> make_cuda_solver(const Problem& p, int device_index) {
  return std::make_unique<CudaSolver>(p, device_index);
}

}  // namespace vg::ba
