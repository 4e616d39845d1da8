// Per-observation math of bundle adjustment, shared by the CPU solver and the CUDA kernels (C++17, no
// Eigen, host+device): COLMAP's camera models with analytic Jacobians, the left-perturbation pose update
// (R <- exp(w) R), Ceres' robust losses and its residual/Jacobian corrector (Triggs et al. 2000, eq. 10).
#pragma once
#include <cmath>

#ifdef __CUDACC__
#define BA_HD __host__ __device__ __forceinline__
#else
#define BA_HD inline
#endif

namespace vg::ba {

constexpr int kMaxCamParams = 8;  // OPENCV
constexpr int kPoseDim = 6;       // rotation increment w, translation t

// Model ids as COLMAP: 0 SIMPLE_PINHOLE, 1 PINHOLE, 2 SIMPLE_RADIAL, 3 RADIAL, 4 OPENCV.
BA_HD int num_cam_params(int model) {
  switch (model) {
    case 0: return 3;
    case 1: return 4;
    case 2: return 4;
    case 3: return 5;
    case 4: return 8;
    default: return 0;
  }
}

// COLMAP's ImgFromCam for the five models; T may be double or a Ceres Jet. Returns false (COLMAP: zero
// residual) when the depth is not projectable.
template <typename T>
BA_HD bool project(int model, const T* prm, const T* p, T* px) {
  using std::abs;
  if (abs(p[2]) < T(2.220446049250313e-16)) return false;
  const T u = p[0] / p[2], v = p[1] / p[2];
  const T u2 = u * u, v2 = v * v, uv = u * v, r2 = u2 + v2;
  T ud = u, vd = v, fx, fy, cx, cy;
  if (model == 0 || model == 2 || model == 3) {
    fx = prm[0], fy = prm[0], cx = prm[1], cy = prm[2];
    T radial = T(0);
    if (model == 2) radial = prm[3] * r2;
    if (model == 3) radial = prm[3] * r2 + prm[4] * r2 * r2;
    ud = u + u * radial;
    vd = v + v * radial;
  } else {
    fx = prm[0], fy = prm[1], cx = prm[2], cy = prm[3];
    if (model == 4) {
      const T radial = prm[4] * r2 + prm[5] * r2 * r2;
      ud = u + u * radial + T(2) * prm[6] * uv + prm[7] * (r2 + T(2) * u2);
      vd = v + v * radial + T(2) * prm[7] * uv + prm[6] * (r2 + T(2) * v2);
    }
  }
  px[0] = fx * ud + cx;
  px[1] = fy * vd + cy;
  return true;
}

// project() with its Jacobians: J_p (2x3, row-major) w.r.t. the camera-frame point, J_prm (2 x nparams,
// row-major, stride kMaxCamParams) w.r.t. the camera parameters.
BA_HD bool project_jac(int model, const double* prm, const double* p, double* px, double* J_p,
                       double* J_prm) {
  if (!project(model, prm, p, px)) return false;
  const double iz = 1.0 / p[2];
  const double u = p[0] * iz, v = p[1] * iz;
  const double u2 = u * u, v2 = v * v, uv = u * v, r2 = u2 + v2;
  // D = d(ud, vd) / d(u, v); dk = d(ud, vd) / d(extra params).
  double D00 = 1, D01 = 0, D10 = 0, D11 = 1, ud = u, vd = v, fx, fy;
  for (int i = 0; i < 2 * kMaxCamParams; ++i) J_prm[i] = 0;
  double* Jx = J_prm;
  double* Jy = J_prm + kMaxCamParams;
  if (model == 0 || model == 2 || model == 3) {
    fx = fy = prm[0];
    double radial = 0, dr = 0;  // dr: d radial / d r2
    if (model == 2) radial = prm[3] * r2, dr = prm[3];
    if (model == 3) radial = prm[3] * r2 + prm[4] * r2 * r2, dr = prm[3] + 2 * prm[4] * r2;
    ud = u * (1 + radial), vd = v * (1 + radial);
    D00 = 1 + radial + 2 * dr * u2, D01 = 2 * dr * uv, D10 = D01, D11 = 1 + radial + 2 * dr * v2;
    Jx[0] = ud, Jy[0] = vd;
    Jx[1] = 1, Jy[2] = 1;
    if (model >= 2) Jx[3] = u * r2, Jy[3] = v * r2;
    if (model == 3) Jx[4] = u * r2 * r2, Jy[4] = v * r2 * r2;
  } else {
    fx = prm[0], fy = prm[1];
    if (model == 4) {
      const double k1 = prm[4], k2 = prm[5], p1 = prm[6], p2 = prm[7];
      const double radial = k1 * r2 + k2 * r2 * r2, dr = k1 + 2 * k2 * r2;
      ud = u + u * radial + 2 * p1 * uv + p2 * (r2 + 2 * u2);
      vd = v + v * radial + 2 * p2 * uv + p1 * (r2 + 2 * v2);
      D00 = 1 + radial + 2 * dr * u2 + 2 * p1 * v + 6 * p2 * u;
      D01 = 2 * dr * uv + 2 * p1 * u + 2 * p2 * v;
      D10 = 2 * dr * uv + 2 * p2 * v + 2 * p1 * u;
      D11 = 1 + radial + 2 * dr * v2 + 2 * p2 * u + 6 * p1 * v;
      Jx[4] = fx * u * r2, Jy[4] = fy * v * r2;
      Jx[5] = fx * u * r2 * r2, Jy[5] = fy * v * r2 * r2;
      Jx[6] = fx * 2 * uv, Jy[6] = fy * (r2 + 2 * v2);
      Jx[7] = fx * (r2 + 2 * u2), Jy[7] = fy * 2 * uv;
    }
    Jx[0] = ud, Jy[1] = vd;
    Jx[2] = 1, Jy[3] = 1;
  }
  if (model == 2 || model == 3) {  // the extra-parameter columns above are d(ud,vd); scale by f
    Jx[3] *= fx, Jy[3] *= fy;
    if (model == 3) Jx[4] *= fx, Jy[4] *= fy;
  }
  // d(u, v) / d p = [[1/z, 0, -u/z], [0, 1/z, -v/z]].
  const double a00 = fx * D00, a01 = fx * D01, a10 = fy * D10, a11 = fy * D11;
  J_p[0] = a00 * iz, J_p[1] = a01 * iz, J_p[2] = -(a00 * u + a01 * v) * iz;
  J_p[3] = a10 * iz, J_p[4] = a11 * iz, J_p[5] = -(a10 * u + a11 * v) * iz;
  return true;
}

// Rotation of x by the unit quaternion q = (w, x, y, z).
template <typename T>
BA_HD void quat_rotate(const T* q, const T* x, T* out) {
  const T w = q[0], a = q[1], b = q[2], c = q[3];
  // t = 2 (q_vec x x); out = x + w t + q_vec x t
  const T t0 = T(2) * (b * x[2] - c * x[1]);
  const T t1 = T(2) * (c * x[0] - a * x[2]);
  const T t2 = T(2) * (a * x[1] - b * x[0]);
  out[0] = x[0] + w * t0 + (b * t2 - c * t1);
  out[1] = x[1] + w * t1 + (c * t0 - a * t2);
  out[2] = x[2] + w * t2 + (a * t1 - b * t0);
}

// q <- exp(w) * q (left perturbation, w an axis-angle increment), renormalised.
BA_HD void quat_left_update(const double* w, double* q) {
  const double th = sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
  double dw = cos(0.5 * th), s = th > 1e-12 ? sin(0.5 * th) / th : 0.5;
  const double d[4] = {dw, s * w[0], s * w[1], s * w[2]};
  double r[4] = {d[0] * q[0] - d[1] * q[1] - d[2] * q[2] - d[3] * q[3],
                 d[0] * q[1] + d[1] * q[0] + d[2] * q[3] - d[3] * q[2],
                 d[0] * q[2] - d[1] * q[3] + d[2] * q[0] + d[3] * q[1],
                 d[0] * q[3] + d[1] * q[2] - d[2] * q[1] + d[3] * q[0]};
  const double n = sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2] + r[3] * r[3]);
  for (int i = 0; i < 4; ++i) q[i] = r[i] / n;
}

// Ceres' loss functions: rho = (rho(s), rho'(s), rho''(s)) at s = ||r||^2. loss: 0 trivial, 1 Huber, 2 Cauchy,
// 3 soft L1.
BA_HD void loss_eval(int loss, double a, double s, double* rho) {
  // rho' is kept above the smallest normal double (Ceres: std::numeric_limits<double>::min()), not above the
  // machine epsilon: with 2.2e-16 an observation of a point that a step put next to the camera plane (|r| ~ 1e15
  // px) kept a corrected residual of ~1e7 px, the Gauss-Newton model promised a decrease of ~1e14 and every
  // following step was rejected until the trust region collapsed (fox: a Cauchy stage ended after 9 iterations).
  const double eps = 2.2250738585072014e-308;
  if (loss == 1) {
    const double b = a * a;
    if (s > b) {
      const double r = sqrt(s);
      rho[0] = 2 * a * r - b;
      rho[1] = fmax(eps, a / r);
      rho[2] = -rho[1] / (2 * s);
    } else {
      rho[0] = s, rho[1] = 1, rho[2] = 0;
    }
  } else if (loss == 2) {
    const double b = a * a, c = 1 / b, sum = 1 + s * c, inv = 1 / sum;
    rho[0] = b * log(sum);
    rho[1] = fmax(eps, inv);
    rho[2] = -c * inv * inv;
  } else if (loss == 3) {  // soft L1: 2 b (sqrt(1 + s / b) - 1)
    const double b = a * a, c = 1 / b, sum = 1 + s * c, tmp = sqrt(sum);
    rho[0] = 2 * b * (tmp - 1);
    rho[1] = fmax(eps, 1 / tmp);
    rho[2] = -(c * rho[1]) / (2 * sum);
  } else {
    rho[0] = s, rho[1] = 1, rho[2] = 0;
  }
}

// Ceres' Corrector: r <- scale * r, J <- sqrt(rho') (J - k r r^T J), so that the Gauss-Newton model of the
// corrected residual matches rho to second order. Applies to the 2-vector r and to `cols` columns of J
// (row-major 2 x stride). Returns the robust cost contribution 0.5 * rho(s).
struct Corrector {
  double sqrt_rho1 = 1, residual_scaling = 1, alpha_sq_norm = 0, r0 = 0, r1 = 0;
  BA_HD double init(int loss, double a, const double* r) {
    r0 = r[0], r1 = r[1];
    const double s = r0 * r0 + r1 * r1;
    double rho[3];
    loss_eval(loss, a, s, rho);
    sqrt_rho1 = sqrt(rho[1]);
    if (s == 0 || rho[2] <= 0) {  // outlier region: plain re-weighting (Ceres' choice)
      residual_scaling = sqrt_rho1, alpha_sq_norm = 0;
    } else {
      const double alpha = 1 - sqrt(1 + 2 * s * rho[2] / rho[1]);
      residual_scaling = sqrt_rho1 / (1 - alpha);
      alpha_sq_norm = alpha / s;
    }
    return 0.5 * rho[0];
  }
  BA_HD void jacobian(double* J, int cols, int stride) const {
    for (int c = 0; c < cols; ++c) {
      const double j0 = J[c], j1 = J[stride + c];
      const double rj = r0 * j0 + r1 * j1;
      J[c] = sqrt_rho1 * (j0 - alpha_sq_norm * r0 * rj);
      J[stride + c] = sqrt_rho1 * (j1 - alpha_sq_norm * r1 * rj);
    }
  }
  BA_HD void residual(double* r) const { r[0] *= residual_scaling, r[1] *= residual_scaling; }
};

// Linearisation of one observation at (pose q,t; camera prm; point X): corrected residual r (2), J_pose
// (2x6: d/dw, d/dt), J_cam (2 x kMaxCamParams), J_pt (2x3); masked pose/camera columns are zeroed.
// Returns 0.5 rho(||r||^2) (the uncorrected cost).
BA_HD double linearize_obs(int model, const double* prm, const double* q, const double* t, const double* X,
                           const double* obs, int loss, double loss_scale, const unsigned char* pose_free,
                           const unsigned char* cam_free, double* r, double* J_pose, double* J_cam,
                           double* J_pt) {
  double Rx[3], pc[3], Jp[6];
  quat_rotate(q, X, Rx);
  for (int i = 0; i < 3; ++i) pc[i] = Rx[i] + t[i];
  if (!project_jac(model, prm, pc, r, Jp, J_cam)) {
    for (int i = 0; i < 2; ++i) r[i] = 0;
    for (int i = 0; i < 12; ++i) J_pose[i] = 0;
    for (int i = 0; i < 2 * kMaxCamParams; ++i) J_cam[i] = 0;
    for (int i = 0; i < 6; ++i) J_pt[i] = 0;
    return 0;
  }
  r[0] -= obs[0], r[1] -= obs[1];
  // d pc / d w = -[R X]_x (left perturbation); d pc / d t = I; d pc / d X = R.
  for (int k = 0; k < 2; ++k) {
    const double* a = Jp + 3 * k;
    // row a^T (-[Rx]_x): [-Rx]_x = [[0, Rx2, -Rx1], [-Rx2, 0, Rx0], [Rx1, -Rx0, 0]]
    J_pose[6 * k + 0] = -a[1] * Rx[2] + a[2] * Rx[1];
    J_pose[6 * k + 1] = a[0] * Rx[2] - a[2] * Rx[0];
    J_pose[6 * k + 2] = -a[0] * Rx[1] + a[1] * Rx[0];
    J_pose[6 * k + 3] = a[0], J_pose[6 * k + 4] = a[1], J_pose[6 * k + 5] = a[2];
    // a^T R: rotate the row vector by R^T, i.e. R^T a = conj(q) a
    const double qc[4] = {q[0], -q[1], -q[2], -q[3]};
    quat_rotate(qc, a, J_pt + 3 * k);
  }
  for (int c = 0; c < kPoseDim; ++c)
    if (!pose_free[c]) J_pose[c] = J_pose[6 + c] = 0;
  for (int c = 0; c < kMaxCamParams; ++c)
    if (!cam_free[c]) J_cam[c] = J_cam[kMaxCamParams + c] = 0;
  Corrector cor;
  const double cost = cor.init(loss, loss_scale, r);
  cor.jacobian(J_pose, kPoseDim, kPoseDim);
  cor.jacobian(J_cam, kMaxCamParams, kMaxCamParams);
  cor.jacobian(J_pt, 3, 3);
  cor.residual(r);
  return cost;
}

// Cost 0.5 rho(||r||^2) of one observation (no Jacobians).
BA_HD double obs_cost(int model, const double* prm, const double* q, const double* t, const double* X,
                      const double* obs, int loss, double loss_scale) {
  double pc[3], px[2];
  quat_rotate(q, X, pc);
  for (int i = 0; i < 3; ++i) pc[i] += t[i];
  if (!project(model, prm, pc, px)) return 0;
  const double r0 = px[0] - obs[0], r1 = px[1] - obs[1];
  double rho[3];
  loss_eval(loss, loss_scale, r0 * r0 + r1 * r1, rho);
  return 0.5 * rho[0];
}

// Inverse of a symmetric 3x3 matrix (row-major) by the adjugate; returns false when singular.
BA_HD bool inverse3(const double* m, double* inv) {
  const double c00 = m[4] * m[8] - m[5] * m[7], c01 = m[5] * m[6] - m[3] * m[8], c02 = m[3] * m[7] - m[4] * m[6];
  const double det = m[0] * c00 + m[1] * c01 + m[2] * c02;
  if (!(fabs(det) > 0)) return false;
  const double id = 1 / det;
  inv[0] = c00 * id, inv[1] = (m[2] * m[7] - m[1] * m[8]) * id, inv[2] = (m[1] * m[5] - m[2] * m[4]) * id;
  inv[3] = c01 * id, inv[4] = (m[0] * m[8] - m[2] * m[6]) * id, inv[5] = (m[2] * m[3] - m[0] * m[5]) * id;
  inv[6] = c02 * id, inv[7] = (m[1] * m[6] - m[0] * m[7]) * id, inv[8] = (m[0] * m[4] - m[1] * m[3]) * id;
  return true;
}

// LM regulariser of one variable as Ceres with Jacobi scaling: the scaled diagonal jj s^2 is clamped to
// [1e-6, 1e32], divided by the trust-region radius, and mapped back to the unscaled variable.
BA_HD double lm_diag(double jj, double s, double radius) {
  const double d = fmin(fmax(jj * s * s, 1e-6), 1e32);
  return d / (s * s) / radius;
}

}  // namespace vg::ba
