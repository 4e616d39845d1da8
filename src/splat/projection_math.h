// Per-Gaussian math of the fused preprocess (gsplat's fully-fused EWA projection, pinhole camera),
// as templated inline functions shared by the CPU reference (float, and double for the tests'
// finite differences) and the CUDA kernels (float). C++17-clean: included by preprocess.cu.
//   quaternion -> rotation, covariance R S S^T R^T (3DGS eq. 6), world -> camera, EWA Jacobian
//   (Zwicker et al. 2001; 3DGS eq. 5) with gsplat's 1.3x field-of-view clamp, 2D low-pass dilation,
//   antialiasing compensation (Mip-Splatting), conic, radii/culling, SH colours; and the VJPs.
// Matrices are row-major arrays: 3x3 as T[9], 2x3 as T[6], 2x2 as T[4].
#pragma once
#include <math.h>
#include <stdint.h>

#include "splat/sh.h"

namespace vg::proj {

// gsplat constants (Common.h / _constants.py).
constexpr float kAlphaThreshold = 1.f / 255.f;
constexpr float kGaussianExtend = 3.33f;
constexpr float kMinCompensation = 0.005f;

VG_HD float m_sqrt(float x) { return sqrtf(x); }
VG_HD double m_sqrt(double x) { return sqrt(x); }
VG_HD float m_exp(float x) { return expf(x); }
VG_HD double m_exp(double x) { return exp(x); }
VG_HD float m_log(float x) { return logf(x); }
VG_HD double m_log(double x) { return log(x); }
VG_HD float m_ceil(float x) { return ceilf(x); }
VG_HD double m_ceil(double x) { return ceil(x); }
template <typename T> VG_HD T m_min(T a, T b) { return a < b ? a : b; }
template <typename T> VG_HD T m_max(T a, T b) { return a > b ? a : b; }

// ---- small matrix helpers ----------------------------------------------------------------------
template <typename T> VG_HD void matmul3(const T* A, const T* B, T* C) {  // C = A B
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) C[i * 3 + j] = A[i * 3] * B[j] + A[i * 3 + 1] * B[3 + j] + A[i * 3 + 2] * B[6 + j];
}
template <typename T> VG_HD void matmul3_bt(const T* A, const T* B, T* C) {  // C = A B^T
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      C[i * 3 + j] = A[i * 3] * B[j * 3] + A[i * 3 + 1] * B[j * 3 + 1] + A[i * 3 + 2] * B[j * 3 + 2];
}
template <typename T> VG_HD void matmul3_at(const T* A, const T* B, T* C) {  // C = A^T B
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) C[i * 3 + j] = A[i] * B[j] + A[3 + i] * B[3 + j] + A[6 + i] * B[6 + j];
}
// out = A X A^T for 3x3 A, X.
template <typename T> VG_HD void sandwich3(const T* A, const T* X, T* out) {
  T AX[9];
  matmul3(A, X, AX);
  matmul3_bt(AX, A, out);
}
// out = A^T X A for 3x3 A, X (the VJP of sandwich3 w.r.t. X).
template <typename T> VG_HD void sandwich3_t(const T* A, const T* X, T* out) {
  T XA[9];
  matmul3(X, A, XA);
  matmul3_at(A, XA, out);
}

// ---- camera and settings ---------------------------------------------------------------------------
template <typename T> struct View {  // world -> camera [R | t], pinhole intrinsics, camera centre
  T R[9], t[3];
  T fx, fy, cx, cy;
  T campos[3];
  int width, height;
};

template <typename T> struct Settings {
  T eps2d, near_plane, far_plane, radius_clip;
  bool antialiased;
  int sh_degree;
};

// ---- quaternion -> rotation (normalised inside) ----------------------------------------------------
template <typename T> VG_HD void quat_to_rotmat(const T* q, T* R) {
  T inv = T(1) / m_sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  T w = q[0] * inv, x = q[1] * inv, y = q[2] * inv, z = q[3] * inv;
  R[0] = 1 - 2 * (y * y + z * z), R[1] = 2 * (x * y - w * z), R[2] = 2 * (x * z + w * y);
  R[3] = 2 * (x * y + w * z), R[4] = 1 - 2 * (x * x + z * z), R[5] = 2 * (y * z - w * x);
  R[6] = 2 * (x * z - w * y), R[7] = 2 * (y * z + w * x), R[8] = 1 - 2 * (x * x + y * y);
}

// v_q = d loss / d q (raw quaternion) given G = d loss / d R, through the normalisation.
template <typename T> VG_HD void quat_to_rotmat_vjp(const T* q, const T* G, T* v_q) {
  T inv = T(1) / m_sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  T w = q[0] * inv, x = q[1] * inv, y = q[2] * inv, z = q[3] * inv;
  T vn[4];
  vn[0] = 2 * (x * (G[7] - G[5]) + y * (G[2] - G[6]) + z * (G[3] - G[1]));
  vn[1] = 2 * (y * (G[1] + G[3]) + z * (G[2] + G[6]) + w * (G[7] - G[5]) - 2 * x * (G[4] + G[8]));
  vn[2] = 2 * (x * (G[1] + G[3]) + z * (G[5] + G[7]) + w * (G[2] - G[6]) - 2 * y * (G[0] + G[8]));
  vn[3] = 2 * (x * (G[2] + G[6]) + y * (G[5] + G[7]) + w * (G[3] - G[1]) - 2 * z * (G[0] + G[4]));
  T qn[4] = {w, x, y, z};
  T d = vn[0] * qn[0] + vn[1] * qn[1] + vn[2] * qn[2] + vn[3] * qn[3];
  for (int i = 0; i < 4; ++i) v_q[i] = (vn[i] - d * qn[i]) * inv;  // tangent part / |q|
}

// ---- perspective projection with gsplat's clamped Jacobian -----------------------------------------
// Limits of x/z, y/z: the image extent plus 30% of the half field of view on each side.
template <typename T> struct Frustum {
  T lim_x_pos, lim_x_neg, lim_y_pos, lim_y_neg;
};
template <typename T> VG_HD Frustum<T> frustum_limits(const View<T>& v) {
  T tan_fovx = T(0.5) * T(v.width) / v.fx, tan_fovy = T(0.5) * T(v.height) / v.fy;
  return {(T(v.width) - v.cx) / v.fx + T(0.3) * tan_fovx, v.cx / v.fx + T(0.3) * tan_fovx,
          (T(v.height) - v.cy) / v.fy + T(0.3) * tan_fovy, v.cy / v.fy + T(0.3) * tan_fovy};
}

// J = d(u, v)/d(x, y, z) at the camera-space mean, with x/z and y/z clamped to the frustum limits.
template <typename T> VG_HD void persp_jacobian(const View<T>& v, const T* mc, T* J) {
  Frustum<T> f = frustum_limits(v);
  T rz = T(1) / mc[2], rz2 = rz * rz;
  T tx = mc[2] * m_min(f.lim_x_pos, m_max(-f.lim_x_neg, mc[0] * rz));
  T ty = mc[2] * m_min(f.lim_y_pos, m_max(-f.lim_y_neg, mc[1] * rz));
  J[0] = v.fx * rz, J[1] = 0, J[2] = -v.fx * tx * rz2;
  J[3] = 0, J[4] = v.fy * rz, J[5] = -v.fy * ty * rz2;
}

// cov2d = J C J^T (2x2, row-major).
template <typename T> VG_HD void project_cov(const T* J, const T* C, T* cov2d) {
  T JC[6];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) JC[i * 3 + j] = J[i * 3] * C[j] + J[i * 3 + 1] * C[3 + j] + J[i * 3 + 2] * C[6 + j];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      cov2d[i * 2 + j] = JC[i * 3] * J[j * 3] + JC[i * 3 + 1] * J[j * 3 + 1] + JC[i * 3 + 2] * J[j * 3 + 2];
}

// VJP of mean2d = (fx x/z + cx, fy y/z + cy) and of J(mean_c) into v_mc (accumulated).
template <typename T>
VG_HD void persp_vjp(const View<T>& v, const T* mc, const T* v_mean2d, const T* v_J, T* v_mc) {
  Frustum<T> f = frustum_limits(v);
  T x = mc[0], y = mc[1], z = mc[2];
  T rz = T(1) / z, rz2 = rz * rz, rz3 = rz2 * rz;
  v_mc[0] += v.fx * rz * v_mean2d[0];
  v_mc[1] += v.fy * rz * v_mean2d[1];
  v_mc[2] += -(v.fx * x * v_mean2d[0] + v.fy * y * v_mean2d[1]) * rz2;
  v_mc[2] += -v.fx * rz2 * v_J[0] - v.fy * rz2 * v_J[4];  // J00 = fx/z, J11 = fy/z
  // J02 = -fx tx / z^2 with tx = x inside the limits, tx = z * lim outside (then J02 = -fx lim / z).
  T ux = x * rz, uy = y * rz;
  if (ux <= f.lim_x_pos && ux >= -f.lim_x_neg) {
    v_mc[0] += -v.fx * rz2 * v_J[2];
    v_mc[2] += 2 * v.fx * x * rz3 * v_J[2];
  } else {
    T tx = z * m_min(f.lim_x_pos, m_max(-f.lim_x_neg, ux));
    v_mc[2] += v.fx * tx * rz3 * v_J[2];
  }
  if (uy <= f.lim_y_pos && uy >= -f.lim_y_neg) {
    v_mc[1] += -v.fy * rz2 * v_J[5];
    v_mc[2] += 2 * v.fy * y * rz3 * v_J[5];
  } else {
    T ty = z * m_min(f.lim_y_pos, m_max(-f.lim_y_neg, uy));
    v_mc[2] += v.fy * ty * rz3 * v_J[5];
  }
}

template <typename T> VG_HD T det2(const T* M) { return M[0] * M[3] - M[1] * M[2]; }

// ---- colours from SH --------------------------------------------------------------------------------
// Coefficient k of channel c: sh0[c] for k = 0, shN[(k-1)*3 + c] otherwise.
template <typename T> VG_HD T sh_coeff(const T* sh0, const T* shN, int k, int c) {
  return k == 0 ? sh0[c] : shN[(k - 1) * 3 + c];
}

// Unit view direction from the camera centre to the mean; returns |mean - campos|.
template <typename T> VG_HD T view_dir(const View<T>& v, const T* mean, T* n) {
  T d[3] = {mean[0] - v.campos[0], mean[1] - v.campos[1], mean[2] - v.campos[2]};
  T len = m_sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  T inv = len > T(0) ? T(1) / len : T(1);
  for (int i = 0; i < 3; ++i) n[i] = d[i] * inv;
  return len;
}

// Pre-clamp colours SH(dir) + 0.5 and the basis used.
template <typename T>
VG_HD void sh_colors_raw(const View<T>& v, int degree, const T* mean, const T* sh0, const T* shN, T* raw, T* b) {
  T n[3];
  view_dir(v, mean, n);
  sh::eval_basis(degree, n[0], n[1], n[2], b);
  int K = (degree + 1) * (degree + 1);
  for (int c = 0; c < 3; ++c) {
    T acc = 0;
    for (int k = 0; k < K; ++k) acc += b[k] * sh_coeff(sh0, shN, k, c);
    raw[c] = acc + T(0.5);
  }
}

// ---- one Gaussian: forward --------------------------------------------------------------------------
template <typename T> struct GaussianIn {  // pointers to one Gaussian's raw parameters
  const T* mean;       // [3]
  const T* log_scale;  // [3]
  const T* quat;       // [4] (w, x, y, z)
  T opacity_logit;
  const T* sh0;  // [3]
  const T* shN;  // [K_max-1, 3]
};

template <typename T> struct Projected {
  int radius[2];
  T mean2d[2], depth, conic[3], compensation, opacity, color[3];
};

template <typename T> VG_HD T sigmoid(T x) { return T(1) / (T(1) + m_exp(-x)); }

// Camera-space mean and covariance, Jacobian and the undilated 2D covariance.
template <typename T> struct Geometry {
  T mc[3], Rg[9], s[3], covw[9], covc[9], J[6], cov2d[4];
};
template <typename T> VG_HD void compute_geometry(const View<T>& v, const GaussianIn<T>& g, Geometry<T>& G) {
  for (int i = 0; i < 3; ++i)
    G.mc[i] = v.R[i * 3] * g.mean[0] + v.R[i * 3 + 1] * g.mean[1] + v.R[i * 3 + 2] * g.mean[2] + v.t[i];
  quat_to_rotmat(g.quat, G.Rg);
  for (int i = 0; i < 3; ++i) G.s[i] = m_exp(g.log_scale[i]);
  T M[9];
  for (int i = 0; i < 9; ++i) M[i] = G.Rg[i] * G.s[i % 3];  // M = R S
  matmul3_bt(M, M, G.covw);
  sandwich3(v.R, G.covw, G.covc);
  persp_jacobian(v, G.mc, G.J);
  project_cov(G.J, G.covc, G.cov2d);
}

// Returns whether the Gaussian is visible; `out` is fully written (zeros when culled).
template <typename T>
VG_HD bool project_gaussian(const View<T>& v, const Settings<T>& s, const GaussianIn<T>& g, Projected<T>& out) {
  out = Projected<T>{};
  out.radius[0] = out.radius[1] = 0;
  Geometry<T> G;
  for (int i = 0; i < 3; ++i)
    G.mc[i] = v.R[i * 3] * g.mean[0] + v.R[i * 3 + 1] * g.mean[1] + v.R[i * 3 + 2] * g.mean[2] + v.t[i];
  if (G.mc[2] < s.near_plane || G.mc[2] > s.far_plane) return false;
  compute_geometry(v, g, G);
  T det_orig = det2(G.cov2d);
  T cb[4] = {G.cov2d[0] + s.eps2d, G.cov2d[1], G.cov2d[2], G.cov2d[3] + s.eps2d};
  T det = det2(cb);
  if (!(det > T(0))) return false;
  T comp = s.antialiased ? m_sqrt(m_max(T(kMinCompensation) * T(kMinCompensation), det_orig / det)) : T(1);
  T opacity = sigmoid(g.opacity_logit) * comp;
  if (opacity < T(kAlphaThreshold)) return false;
  // Opacity-aware extent (gsplat; arXiv 2402.00525 B.2): where opacity * exp(-r^2/2) < 1/255.
  T extend = m_min(T(kGaussianExtend), m_sqrt(T(2) * m_log(opacity / T(kAlphaThreshold))));
  T rx = m_ceil(extend * m_sqrt(cb[0])), ry = m_ceil(extend * m_sqrt(cb[3]));
  if (rx <= s.radius_clip && ry <= s.radius_clip) return false;
  T rz = T(1) / G.mc[2];
  T u = v.fx * G.mc[0] * rz + v.cx, w = v.fy * G.mc[1] * rz + v.cy;
  if (u + rx <= 0 || u - rx >= T(v.width) || w + ry <= 0 || w - ry >= T(v.height)) return false;

  out.radius[0] = static_cast<int>(rx);
  out.radius[1] = static_cast<int>(ry);
  out.mean2d[0] = u, out.mean2d[1] = w;
  out.depth = G.mc[2];
  out.conic[0] = cb[3] / det, out.conic[1] = -cb[1] / det, out.conic[2] = cb[0] / det;
  out.compensation = comp;
  out.opacity = opacity;
  T raw[3], b[sh::kMaxCoeffs];
  sh_colors_raw(v, s.sh_degree, g.mean, g.sh0, g.shN, raw, b);
  for (int c = 0; c < 3; ++c) out.color[c] = m_max(raw[c], T(0));
  return true;
}

// ---- one Gaussian: backward -------------------------------------------------------------------------
template <typename T> struct ProjectedGrad {  // d loss / d outputs of one Gaussian
  T v_mean2d[2], v_conic[3], v_opacity, v_color[3];
};
template <typename T> struct GaussianGradOut {  // where to write d loss / d raw parameters
  T* mean;
  T* log_scale;
  T* quat;
  T* opacity_logit;
  T* sh0;
  T* shN;  // [sh_rows, 3]; rows beyond the used degree are zeroed
  int sh_rows;
};

template <typename T> VG_HD void zero_grads(const GaussianGradOut<T>& o) {
  for (int i = 0; i < 3; ++i) o.mean[i] = 0, o.log_scale[i] = 0, o.sh0[i] = 0;
  for (int i = 0; i < 4; ++i) o.quat[i] = 0;
  *o.opacity_logit = 0;
  for (int i = 0; i < o.sh_rows * 3; ++i) o.shN[i] = 0;
}

// d loss / d cov2d (undilated, general 2x2 entries) from the conic and compensation gradients.
template <typename T>
VG_HD void cov2d_vjp(const Settings<T>& s, const T* cov2d, const T* v_conic, T v_comp, T* v_cov2d) {
  T cb[4] = {cov2d[0] + s.eps2d, cov2d[1], cov2d[2], cov2d[3] + s.eps2d};
  T det = det2(cb);
  T P[4] = {cb[3] / det, -cb[1] / det, -cb[2] / det, cb[0] / det};
  T V[4] = {v_conic[0], T(0.5) * v_conic[1], T(0.5) * v_conic[1], v_conic[2]};
  // conic = P = cb^-1: d/d cb = -P^T V P^T (P symmetric)
  T VP[4] = {V[0] * P[0] + V[1] * P[2], V[0] * P[1] + V[1] * P[3], V[2] * P[0] + V[3] * P[2],
             V[2] * P[1] + V[3] * P[3]};
  v_cov2d[0] = -(P[0] * VP[0] + P[1] * VP[2]);
  v_cov2d[1] = -(P[0] * VP[1] + P[1] * VP[3]);
  v_cov2d[2] = -(P[2] * VP[0] + P[3] * VP[2]);
  v_cov2d[3] = -(P[2] * VP[1] + P[3] * VP[3]);
  if (!s.antialiased) return;
  // comp = sqrt(r), r = det(cov2d) / det(cov2d + eps I), clamped below at kMinCompensation^2.
  T det_orig = det2(cov2d), r = det_orig / det;
  T rmin = T(kMinCompensation) * T(kMinCompensation);
  if (!(r > rmin)) return;
  T v_r = v_comp * T(0.5) / m_sqrt(r);
  // d det(M) / dM = [[m11, -m10], [-m01, m00]]
  T a_o[4] = {cov2d[3], -cov2d[2], -cov2d[1], cov2d[0]};
  T a_b[4] = {cb[3], -cb[2], -cb[1], cb[0]};
  for (int i = 0; i < 4; ++i) v_cov2d[i] += v_r * (a_o[i] / det - det_orig / (det * det) * a_b[i]);
}

// d loss / d [R | t] of the world -> camera transform, accumulated into v_view[12] = (R row-major, t):
// through mean_c = R mean + t, cov_c = R cov_w R^T (d/dR = (V + V^T) R cov_w, cov_w symmetric).
template <typename T>
VG_HD void view_geometry_vjp(const T* mean, const T* R, const T* covw, const T* v_mc, const T* v_covc, T* v_view) {
  T Vs[9], VR[9], VRC[9];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) Vs[i * 3 + j] = v_covc[i * 3 + j] + v_covc[j * 3 + i];
  matmul3(Vs, R, VR);
  matmul3(VR, covw, VRC);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) v_view[i * 3 + j] += v_mc[i] * mean[j] + VRC[i * 3 + j];
    v_view[9 + i] += v_mc[i];
  }
}

// The SH view direction's path into [R | t]: dir = mean - campos, campos = -R^T t (gsplat: the
// translation of inverse(viewmat)), so d/dR_ij = t_i v_dir_j and d/dt = R v_dir.
template <typename T> VG_HD void view_campos_vjp(const View<T>& v, const T* v_dir, T* v_view) {
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) v_view[i * 3 + j] += v.t[i] * v_dir[j];
    v_view[9 + i] += v.R[i * 3] * v_dir[0] + v.R[i * 3 + 1] * v_dir[1] + v.R[i * 3 + 2] * v_dir[2];
  }
}

// Writes every gradient of one visible Gaussian (overwrites `o`). With v_view (12 entries: R
// row-major, then t) it also accumulates d loss / d viewmat there; nullptr skips that work.
template <typename T>
VG_HD void project_gaussian_vjp(const View<T>& v, const Settings<T>& s, const GaussianIn<T>& g,
                                const ProjectedGrad<T>& vin, const GaussianGradOut<T>& o, T* v_view = nullptr) {
  Geometry<T> G;
  compute_geometry(v, g, G);
  T cb[4] = {G.cov2d[0] + s.eps2d, G.cov2d[1], G.cov2d[2], G.cov2d[3] + s.eps2d};
  T comp = s.antialiased ? m_sqrt(m_max(T(kMinCompensation) * T(kMinCompensation), det2(G.cov2d) / det2(cb)))
                         : T(1);
  // opacity = sigmoid(logit) * comp
  T sig = sigmoid(g.opacity_logit);
  *o.opacity_logit = vin.v_opacity * comp * sig * (T(1) - sig);
  T v_comp = vin.v_opacity * sig;

  T v_cov2d[4];
  cov2d_vjp(s, G.cov2d, vin.v_conic, v_comp, v_cov2d);
  // cov2d = J C J^T: v_C = J^T G J, v_J = (G + G^T) J C (C symmetric)
  T v_covc[9], v_J[6], Gs[4] = {v_cov2d[0], v_cov2d[1] + v_cov2d[2], v_cov2d[1] + v_cov2d[2], v_cov2d[3]};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      T acc = 0;
      for (int a = 0; a < 2; ++a)
        for (int bb = 0; bb < 2; ++bb) acc += G.J[a * 3 + i] * v_cov2d[a * 2 + bb] * G.J[bb * 3 + j];
      v_covc[i * 3 + j] = acc;
    }
  Gs[0] *= 2, Gs[3] *= 2;  // G + G^T
  T JC[6];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      JC[i * 3 + j] = G.J[i * 3] * G.covc[j] + G.J[i * 3 + 1] * G.covc[3 + j] + G.J[i * 3 + 2] * G.covc[6 + j];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) v_J[i * 3 + j] = Gs[i * 2] * JC[j] + Gs[i * 2 + 1] * JC[3 + j];

  T v_mc[3] = {0, 0, 0};
  persp_vjp(v, G.mc, vin.v_mean2d, v_J, v_mc);
  // mean_c = R mean + t; cov_c = R cov_w R^T
  for (int i = 0; i < 3; ++i) o.mean[i] = v.R[i] * v_mc[0] + v.R[3 + i] * v_mc[1] + v.R[6 + i] * v_mc[2];
  if (v_view) view_geometry_vjp(g.mean, v.R, G.covw, v_mc, v_covc, v_view);
  T v_covw[9];
  sandwich3_t(v.R, v_covc, v_covw);
  // cov_w = M M^T, M = Rg S: v_M = (V + V^T) M; v_Rg = v_M S; v_s_j = sum_i Rg_ij v_M_ij
  T M[9], Vs[9], v_M[9], v_Rg[9];
  for (int i = 0; i < 9; ++i) M[i] = G.Rg[i] * G.s[i % 3];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) Vs[i * 3 + j] = v_covw[i * 3 + j] + v_covw[j * 3 + i];
  matmul3(Vs, M, v_M);
  for (int j = 0; j < 3; ++j) {
    T acc = 0;
    for (int i = 0; i < 3; ++i) {
      v_Rg[i * 3 + j] = v_M[i * 3 + j] * G.s[j];
      acc += G.Rg[i * 3 + j] * v_M[i * 3 + j];
    }
    o.log_scale[j] = acc * G.s[j];  // d exp(l)/dl = exp(l)
  }
  quat_to_rotmat_vjp(g.quat, v_Rg, o.quat);

  // colours = max(SH(dir) + 0.5, 0), dir = normalise(mean - campos)
  T raw[3], b[sh::kMaxCoeffs], vc[3];
  sh_colors_raw(v, s.sh_degree, g.mean, g.sh0, g.shN, raw, b);
  for (int c = 0; c < 3; ++c) vc[c] = raw[c] >= T(0) ? vin.v_color[c] : T(0);  // torch clamp_min mask
  int K = (s.sh_degree + 1) * (s.sh_degree + 1);
  for (int c = 0; c < 3; ++c) o.sh0[c] = b[0] * vc[c];
  for (int r = 0; r < o.sh_rows; ++r)
    for (int c = 0; c < 3; ++c) o.shN[r * 3 + c] = r + 1 < K ? b[r + 1] * vc[c] : T(0);
  if (s.sh_degree < 1) return;
  T w[sh::kMaxCoeffs], n[3];
  for (int k = 0; k < K; ++k)
    w[k] = vc[0] * sh_coeff(g.sh0, g.shN, k, 0) + vc[1] * sh_coeff(g.sh0, g.shN, k, 1) +
           vc[2] * sh_coeff(g.sh0, g.shN, k, 2);
  T len = view_dir(v, g.mean, n);
  if (!(len > T(0))) return;
  T v_n[3] = {0, 0, 0};
  sh::eval_basis_vjp(s.sh_degree, n[0], n[1], n[2], w, v_n[0], v_n[1], v_n[2]);
  T d = v_n[0] * n[0] + v_n[1] * n[1] + v_n[2] * n[2];
  T v_dir[3];
  for (int i = 0; i < 3; ++i) v_dir[i] = (v_n[i] - d * n[i]) / len;  // normalisation VJP
  for (int i = 0; i < 3; ++i) o.mean[i] += v_dir[i];
  if (v_view) view_campos_vjp(v, v_dir, v_view);
}

// ---- raw buffers of one call (CPU or CUDA), shared by the reference and the kernels ---------------
struct ParamPtrs {
  const float *means, *scales, *quats, *opacities, *sh0, *shN;
  int64_t n;
  int sh_rows;  // K_max - 1 rows of shN per Gaussian
  VG_HD GaussianIn<float> at(int64_t i) const {
    return {means + i * 3, scales + i * 3, quats + i * 4, opacities[i], sh0 + i * 3, shN + i * sh_rows * 3};
  }
};
struct ForwardPtrs {
  int32_t* radii;
  float *means2d, *depths, *conics, *compensations, *opacities, *colors;
};
struct BackwardInPtrs {
  const int32_t* radii;
  const float *v_means2d, *v_conics, *v_opacities, *v_colors;
  VG_HD ProjectedGrad<float> at(int64_t i) const {
    return {{v_means2d[i * 2], v_means2d[i * 2 + 1]},
            {v_conics[i * 3], v_conics[i * 3 + 1], v_conics[i * 3 + 2]},
            v_opacities[i],
            {v_colors[i * 3], v_colors[i * 3 + 1], v_colors[i * 3 + 2]}};
  }
};
struct GradPtrs {
  float *means, *scales, *quats, *opacities, *sh0, *shN;
  float* viewmat = nullptr;  // [4,4] d loss / d viewmat summed over the Gaussians (zeroed by the caller); null: skipped
  VG_HD GaussianGradOut<float> at(int64_t i, int sh_rows) const {
    return {means + i * 3, scales + i * 3, quats + i * 4, opacities + i, sh0 + i * 3, shN + i * sh_rows * 3, sh_rows};
  }
};

// Forward for Gaussian i: writes every output slot of i.
VG_HD void forward_element(int64_t i, const ParamPtrs& p, const View<float>& v, const Settings<float>& s,
                           const ForwardPtrs& o) {
  Projected<float> r;
  project_gaussian(v, s, p.at(i), r);
  o.radii[i * 2] = r.radius[0], o.radii[i * 2 + 1] = r.radius[1];
  o.means2d[i * 2] = r.mean2d[0], o.means2d[i * 2 + 1] = r.mean2d[1];
  o.depths[i] = r.depth;
  for (int k = 0; k < 3; ++k) o.conics[i * 3 + k] = r.conic[k], o.colors[i * 3 + k] = r.color[k];
  o.compensations[i] = r.compensation;
  o.opacities[i] = r.opacity;
}

// Backward for Gaussian i: writes every gradient slot of i (zeros when culled); with v_view (12
// entries, see project_gaussian_vjp) adds Gaussian i's share of d loss / d viewmat there.
VG_HD void backward_element(int64_t i, const ParamPtrs& p, const View<float>& v, const Settings<float>& s,
                            const BackwardInPtrs& in, const GradPtrs& g, float* v_view = nullptr) {
  GaussianGradOut<float> o = g.at(i, p.sh_rows);
  if (in.radii[i * 2] <= 0 || in.radii[i * 2 + 1] <= 0) {
    zero_grads(o);
    return;
  }
  project_gaussian_vjp(v, s, p.at(i), in.at(i), o, v_view);
}

// Index in the row-major [4,4] viewmat gradient of entry k of a 12-entry (R, t) accumulator.
VG_HD int viewmat_index(int k) { return k < 9 ? (k / 3) * 4 + k % 3 : (k - 9) * 4 + 3; }

// CPU reference (preprocess_cpu.cc) and CUDA launchers (preprocess.cu; preprocess_nocuda.cc throws).
void forward_cpu(const ParamPtrs& p, const View<float>& v, const Settings<float>& s, const ForwardPtrs& o);
void backward_cpu(const ParamPtrs& p, const View<float>& v, const Settings<float>& s, const BackwardInPtrs& in,
                  const GradPtrs& g);
void launch_forward_cuda(const ParamPtrs& p, const View<float>& v, const Settings<float>& s, const ForwardPtrs& o);
void launch_backward_cuda(const ParamPtrs& p, const View<float>& v, const Settings<float>& s,
                          const BackwardInPtrs& in, const GradPtrs& g);

}  // namespace vg::proj
