// Internal: CUDA kernels of the bundle-adjustment backend (bundle_adjustment.cu), all in double.
// Observations are sorted by point; camera-side variables: image i's pose at 6 i, camera c's
// parameters at 6 I + 8 c (the layout of ba::Problem).
#pragma once
#include "sfm/bundle_adjustment_math.h"

namespace vg::ba::cuda {

constexpr int kBlock = 256;

struct Static {  // problem structure, device pointers
  int I, C, P, N, loss;
  double loss_scale;
  bool points_free;
  const int *cam_model, *image_camera, *point_obs, *obs_image, *obs_point;
  const unsigned char *cam_free, *pose_free;
  const double* obs_xy;
};
struct Params {
  double *poses, *cams, *points;
};
struct Lin {  // per observation: corrected residual and Jacobians; per point: V = Jp^T Jp, g_p
  double *r, *Jpose, *Jcam, *Jpt, *V, *gp;
};

__device__ __forceinline__ int cam_off(const Static& s, int c) { return 6 * s.I + kMaxCamParams * c; }

// Residuals/Jacobians of every observation; cost[o] = 0.5 rho.
__global__ void k_linearize(Static s, Params x, Lin L, double* cost) {
  const int o = blockIdx.x * blockDim.x + threadIdx.x;
  if (o >= s.N) return;
  const int i = s.obs_image[o], c = s.image_camera[i], j = s.obs_point[o];
  cost[o] = linearize_obs(s.cam_model[c], x.cams + kMaxCamParams * c, x.poses + 7 * i, x.poses + 7 * i + 4,
                          x.points + 3 * j, s.obs_xy + 2 * o, s.loss, s.loss_scale, s.pose_free + 6 * i,
                          s.cam_free + kMaxCamParams * c, L.r + 2 * o, L.Jpose + 12 * o,
                          L.Jcam + 2 * kMaxCamParams * o, L.Jpt + 6 * o);
  if (!s.points_free)
    for (int k = 0; k < 6; ++k) L.Jpt[6 * o + k] = 0;
}

__global__ void k_cost(Static s, Params x, double* cost) {
  const int o = blockIdx.x * blockDim.x + threadIdx.x;
  if (o >= s.N) return;
  const int i = s.obs_image[o], c = s.image_camera[i], j = s.obs_point[o];
  cost[o] = obs_cost(s.cam_model[c], x.cams + kMaxCamParams * c, x.poses + 7 * i, x.poses + 7 * i + 4,
                     x.points + 3 * j, s.obs_xy + 2 * o, s.loss, s.loss_scale);
}

// Per point: V, g_p and the diagonal of J^T J on the point's variables.
__global__ void k_point_accumulate(Static s, Lin L, double* diag_p) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= s.P) return;
  double V[9] = {0}, g[3] = {0};
  for (int o = s.point_obs[j]; o < s.point_obs[j + 1]; ++o) {
    const double* J = L.Jpt + 6 * o;
    const double* r = L.r + 2 * o;
    for (int a = 0; a < 3; ++a) {
      g[a] += J[a] * r[0] + J[3 + a] * r[1];
      for (int b = 0; b < 3; ++b) V[3 * a + b] += J[a] * J[b] + J[3 + a] * J[3 + b];
    }
  }
  for (int k = 0; k < 9; ++k) L.V[9 * j + k] = V[k];
  for (int a = 0; a < 3; ++a) L.gp[3 * j + a] = g[a], diag_p[3 * j + a] = V[4 * a];
}

// Adds each lane's v[k] to base[k] for the free parameters k of its camera. Observations are sorted by point, so
// the lanes of a warp mostly share one camera (always, with one camera for all images): then the warp sums first and
// one lane adds, instead of 32 atomics on the same address. cam < 0: the lane has nothing to add. No early return
// before this in the calling kernels: every lane of the warp takes part.
__device__ __forceinline__ void add_cam_params(const Static& s, double* out, int cam,
                                               const double (&v)[kMaxCamParams]) {
  const int cam0 = __shfl_sync(0xffffffffu, cam, 0);
  const bool uniform = __all_sync(0xffffffffu, cam == cam0 || cam < 0);
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int k = 0; k < kMaxCamParams; ++k) {
    double x = v[k];
    if (uniform)
      for (int off = 16; off > 0; off >>= 1) x += __shfl_xor_sync(0xffffffffu, x, off);
    if ((uniform && lane != 0) || cam < 0 || x == 0 || !s.cam_free[kMaxCamParams * cam + k]) continue;
    atomicAdd(out + cam_off(s, cam) + k, x);
  }
}

// Camera-side gradient J^T r and diagonal of J^T J (scatter by atomics).
__global__ void k_cam_accumulate(Static s, Lin L, double* gc, double* diag_c) {
  const int o = blockIdx.x * blockDim.x + threadIdx.x;
  double g[kMaxCamParams] = {}, d[kMaxCamParams] = {};
  int c = -1;
  if (o < s.N) {
    const int i = s.obs_image[o];
    c = s.image_camera[i];
    const double* r = L.r + 2 * o;
    const double* Jp = L.Jpose + 12 * o;
    const double* Jc = L.Jcam + 2 * kMaxCamParams * o;
    for (int k = 0; k < 6; ++k) {
      if (!s.pose_free[6 * i + k]) continue;
      atomicAdd(gc + 6 * i + k, Jp[k] * r[0] + Jp[6 + k] * r[1]);
      atomicAdd(diag_c + 6 * i + k, Jp[k] * Jp[k] + Jp[6 + k] * Jp[6 + k]);
    }
    for (int k = 0; k < kMaxCamParams; ++k) {
      const double j0 = Jc[k], j1 = Jc[kMaxCamParams + k];
      g[k] = j0 * r[0] + j1 * r[1], d[k] = j0 * j0 + j1 * j1;
    }
  }
  add_cam_params(s, gc, c, g);
  add_cam_params(s, diag_c, c, d);
}

__global__ void k_jacobi_scale(int n, const double* diag, double* scale) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k < n) scale[k] = 1 / (1 + sqrt(diag[k]));
}

__global__ void k_lm_diag(int n, const double* diag, const double* scale, double radius, double* D) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k < n) D[k] = lm_diag(diag[k], scale[k], radius);
}

// Per point: V^-1 of the damped V, and z = V^-1 g_p.
__global__ void k_point_prepare(Static s, Lin L, const double* Dp, double* Vinv, double* z) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= s.P) return;
  double Vd[9], Vi[9] = {0};
  for (int k = 0; k < 9; ++k) Vd[k] = L.V[9 * j + k];
  for (int a = 0; a < 3; ++a) Vd[4 * a] += Dp[3 * j + a];
  if (!s.points_free || !inverse3(Vd, Vi))
    for (int k = 0; k < 9; ++k) Vi[k] = 0;
  for (int k = 0; k < 9; ++k) Vinv[9 * j + k] = Vi[k];
  for (int a = 0; a < 3; ++a)
    z[3 * j + a] = Vi[3 * a] * L.gp[3 * j] + Vi[3 * a + 1] * L.gp[3 * j + 1] + Vi[3 * a + 2] * L.gp[3 * j + 2];
}

// u_o = J_cam-side(o) x.
__global__ void k_obs_jc(Static s, Lin L, const double* x, double* u) {
  const int o = blockIdx.x * blockDim.x + threadIdx.x;
  if (o >= s.N) return;
  const int i = s.obs_image[o], co = cam_off(s, s.image_camera[i]);
  const double* Jp = L.Jpose + 12 * o;
  const double* Jc = L.Jcam + 2 * kMaxCamParams * o;
  for (int k = 0; k < 2; ++k) {
    double v = 0;
    for (int a = 0; a < 6; ++a) v += Jp[6 * k + a] * x[6 * i + a];
    for (int a = 0; a < kMaxCamParams; ++a) v += Jc[kMaxCamParams * k + a] * x[co + a];
    u[2 * o + k] = v;
  }
}

// out_p = sign * V^-1 (base_p + sum_o Jp_o^T u_o) (base may be null).
__global__ void k_point_solve(Static s, Lin L, const double* Vinv, const double* base, const double* u, double sign,
                              double* out) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= s.P) return;
  double h[3] = {0, 0, 0};
  if (base)
    for (int a = 0; a < 3; ++a) h[a] = base[3 * j + a];
  for (int o = s.point_obs[j]; o < s.point_obs[j + 1]; ++o) {
    const double* J = L.Jpt + 6 * o;
    for (int a = 0; a < 3; ++a) h[a] += J[a] * u[2 * o] + J[3 + a] * u[2 * o + 1];
  }
  const double* Vi = Vinv + 9 * j;
  for (int a = 0; a < 3; ++a) out[3 * j + a] = sign * (Vi[3 * a] * h[0] + Vi[3 * a + 1] * h[1] + Vi[3 * a + 2] * h[2]);
}

// out_b += sign * J_ob^T (v_o - Jp_o z_p(o)) for the observation's pose and camera blocks.
__global__ void k_obs_scatter(Static s, Lin L, const double* v, const double* z, double sign, double* out) {
  const int o = blockIdx.x * blockDim.x + threadIdx.x;
  double add[kMaxCamParams] = {};
  int c = -1;
  if (o < s.N) {
    const int i = s.obs_image[o], j = s.obs_point[o];
    c = s.image_camera[i];
    const double* Jq = L.Jpt + 6 * o;
    double e[2];
    for (int k = 0; k < 2; ++k)
      e[k] = v[2 * o + k] - (Jq[3 * k] * z[3 * j] + Jq[3 * k + 1] * z[3 * j + 1] + Jq[3 * k + 2] * z[3 * j + 2]);
    const double* Jp = L.Jpose + 12 * o;
    const double* Jc = L.Jcam + 2 * kMaxCamParams * o;
    for (int a = 0; a < 6; ++a)
      if (s.pose_free[6 * i + a]) atomicAdd(out + 6 * i + a, sign * (Jp[a] * e[0] + Jp[6 + a] * e[1]));
    for (int a = 0; a < kMaxCamParams; ++a) add[a] = sign * (Jc[a] * e[0] + Jc[kMaxCamParams + a] * e[1]);
  }
  add_cam_params(s, out, c, add);
}

// Block-Jacobi preconditioner, per observation: A_bb += J_ob^T J_ob; and once per (point, block):
// -= W_bp V^-1 W_bp^T with W_bp = sum over the point's observations in block b of J_ob^T Jp_o.
// M holds image i's 6x6 block at 36 i and camera c's 8x8 block at 36 I + 64 c.
__device__ void schur_diag_block(const Static& s, const Lin& L, const double* Vi, int j, int o0, bool pose,
                                 double* M) {
  const int i0 = s.obs_image[o0], c0 = s.image_camera[i0];
  const int n = pose ? 6 : kMaxCamParams;
  double W[kMaxCamParams * 3] = {0};
  for (int o = s.point_obs[j]; o < s.point_obs[j + 1]; ++o) {
    const int i = s.obs_image[o];
    if (pose ? i != i0 : s.image_camera[i] != c0) continue;
    const double* J = pose ? L.Jpose + 12 * o : L.Jcam + 2 * kMaxCamParams * o;
    const double* Jq = L.Jpt + 6 * o;
    for (int a = 0; a < n; ++a)
      for (int b = 0; b < 3; ++b) W[3 * a + b] += J[a] * Jq[b] + J[n + a] * Jq[3 + b];
  }
  double* blk = pose ? M + 36 * i0 : M + 36 * s.I + 64 * c0;
  for (int a = 0; a < n; ++a) {
    double wv[3];
    for (int b = 0; b < 3; ++b) wv[b] = W[3 * a] * Vi[b] + W[3 * a + 1] * Vi[3 + b] + W[3 * a + 2] * Vi[6 + b];
    for (int b = 0; b < n; ++b)
      atomicAdd(blk + a * n + b, -(wv[0] * W[3 * b] + wv[1] * W[3 * b + 1] + wv[2] * W[3 * b + 2]));
  }
}

__global__ void k_precond(Static s, Lin L, const double* Vinv, double* M) {
  const int o = blockIdx.x * blockDim.x + threadIdx.x;
  if (o >= s.N) return;
  const int i = s.obs_image[o], c = s.image_camera[i], j = s.obs_point[o];
  const double* Jp = L.Jpose + 12 * o;
  const double* Jc = L.Jcam + 2 * kMaxCamParams * o;
  for (int a = 0; a < 6; ++a)
    for (int b = 0; b < 6; ++b) atomicAdd(M + 36 * i + 6 * a + b, Jp[a] * Jp[b] + Jp[6 + a] * Jp[6 + b]);
  double* Mc = M + 36 * s.I + 64 * c;
  for (int a = 0; a < kMaxCamParams; ++a)
    for (int b = 0; b < kMaxCamParams; ++b)
      atomicAdd(Mc + kMaxCamParams * a + b, Jc[a] * Jc[b] + Jc[kMaxCamParams + a] * Jc[kMaxCamParams + b]);
  if (!s.points_free) return;
  bool first_pose = true, first_cam = true;  // first observation of this point in the image / camera
  for (int q = s.point_obs[j]; q < o; ++q) {
    const int iq = s.obs_image[q];
    if (iq == i) first_pose = false;
    if (s.image_camera[iq] == c) first_cam = false;
  }
  const double* Vi = Vinv + 9 * j;
  if (first_pose) schur_diag_block(s, L, Vi, j, o, true, M);
  if (first_cam) schur_diag_block(s, L, Vi, j, o, false, M);
}

// Adds D to each diagonal block and inverts it in place into Minv (Gauss-Jordan, SPD so no pivoting
// needed beyond a guard; a non-positive pivot leaves the diagonal inverse).
__global__ void k_precond_invert(int I, int C, const double* D, const double* M, double* Minv) {
  const int b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b >= I + C) return;
  const int n = b < I ? 6 : kMaxCamParams;
  const int mo = b < I ? 36 * b : 36 * I + 64 * (b - I);
  const int vo = b < I ? 6 * b : 6 * I + kMaxCamParams * (b - I);
  double A[64], X[64];
  for (int a = 0; a < n; ++a)
    for (int c = 0; c < n; ++c) A[a * n + c] = M[mo + a * n + c] + (a == c ? D[vo + a] : 0), X[a * n + c] = a == c;
  bool ok = true;
  for (int k = 0; k < n && ok; ++k) {
    const double piv = A[k * n + k];
    if (!(piv > 0)) {
      ok = false;
      break;
    }
    for (int c = 0; c < n; ++c) A[k * n + c] /= piv, X[k * n + c] /= piv;
    for (int a = 0; a < n; ++a) {
      if (a == k) continue;
      const double f = A[a * n + k];
      for (int c = 0; c < n; ++c) A[a * n + c] -= f * A[k * n + c], X[a * n + c] -= f * X[k * n + c];
    }
  }
  for (int a = 0; a < n; ++a)
    for (int c = 0; c < n; ++c) {
      double dflt = a == c ? 1 / fmax(M[mo + a * n + a] + D[vo + a], 1e-300) : 0;
      Minv[mo + a * n + c] = ok ? X[a * n + c] : dflt;
    }
}

// z = Minv r per block.
__global__ void k_precond_apply(int I, int C, const double* Minv, const double* r, double* z) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= 6 * I + kMaxCamParams * C) return;
  int n, mo, vo, a;
  if (k < 6 * I) {
    n = 6, mo = 36 * (k / 6), vo = k - k % 6, a = k % 6;
  } else {
    const int c = (k - 6 * I) / kMaxCamParams;
    n = kMaxCamParams, mo = 36 * I + 64 * c, vo = 6 * I + kMaxCamParams * c, a = (k - 6 * I) % kMaxCamParams;
  }
  double v = 0;
  for (int b = 0; b < n; ++b) v += Minv[mo + a * n + b] * r[vo + b];
  z[k] = v;
}

// Model decrease terms: val_o = r.Jdx + 0.5 |Jdx|^2 with Jdx = u_o + Jp_o dp.
__global__ void k_model(Static s, Lin L, const double* u, const double* dp, double* val) {
  const int o = blockIdx.x * blockDim.x + threadIdx.x;
  if (o >= s.N) return;
  const int j = s.obs_point[o];
  const double* Jq = L.Jpt + 6 * o;
  double v = 0;
  for (int k = 0; k < 2; ++k) {
    const double jd = u[2 * o + k] + Jq[3 * k] * dp[3 * j] + Jq[3 * k + 1] * dp[3 * j + 1] + Jq[3 * k + 2] * dp[3 * j + 2];
    v += L.r[2 * o + k] * jd + 0.5 * jd * jd;
  }
  val[o] = v;
}

__global__ void k_update_poses(int I, const double* poses, const double* dc, double* out) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= I) return;
  double q[4] = {poses[7 * i], poses[7 * i + 1], poses[7 * i + 2], poses[7 * i + 3]};
  quat_left_update(dc + 6 * i, q);
  for (int k = 0; k < 4; ++k) out[7 * i + k] = q[k];
  for (int k = 0; k < 3; ++k) out[7 * i + 4 + k] = poses[7 * i + 4 + k] + dc[6 * i + 3 + k];
}

__global__ void k_add(int n, const double* a, const double* b, double* out) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k < n) out[k] = a[k] + b[k];
}

// Explicit reduced camera system for the dense solve, lower triangle of the column-major ncv x ncv S:
// per observation o1 of point j and every o2 of j, S += [o1 == o2] J_o1^T J_o1 - (J_o1^T Jp_o1) V_j^-1 (Jp_o2^T J_o2)
// over the 14 camera-side columns (6 pose + 8 camera) of each; fixed columns are skipped. The LM diagonal
// is added by k_dense_add_diag.
__device__ __forceinline__ void obs_cols(const Static& s, const Lin& L, int o, double J[2][14], int var[14]) {
  const int i = s.obs_image[o], c = s.image_camera[i], co = cam_off(s, c);
  for (int a = 0; a < 6; ++a) {
    var[a] = s.pose_free[6 * i + a] ? 6 * i + a : -1;
    J[0][a] = L.Jpose[12 * o + a], J[1][a] = L.Jpose[12 * o + 6 + a];
  }
  for (int a = 0; a < kMaxCamParams; ++a) {
    var[6 + a] = s.cam_free[kMaxCamParams * c + a] ? co + a : -1;
    J[0][6 + a] = L.Jcam[2 * kMaxCamParams * o + a], J[1][6 + a] = L.Jcam[2 * kMaxCamParams * o + kMaxCamParams + a];
  }
}

// Dense reduced camera system, lower triangle (entry (r, c), c <= r, stored at S[c * n + r]): one thread per
// observation o1 (image i1, camera c1, point j) adds, with Y1 = W_o1 V_j^-1 (W_o1 = J_o1^T Jp_o1):
//   (pose i1, pose i2)  J1^T J1 [o2 == o1] - Y1 Jp2^T J2          for every o2 of j (lower triangle)
//   (pose i1, intr c1)  J1^T J1 - Y1 Z,  Z = sum_{o2 of j in c1} Jp2^T J2,intr   (S is symmetric: the
//   (intr c1, intr c1)  J1^T J1 - Y1 Z   (lower triangle)                (intr, pose) half is not stored)
//   (pose / intr of o1, intr c2)  - Y1 Jp2^T J2   for the o2 of other cameras (per-image cameras).
// A shared camera's intrinsics are the same variables in every observation: summing through Z first (one
// product per observation, not per pair) and over the warp (when every lane has that camera) keeps the atomics
// on those few addresses to one per warp, and the thread's registers small.
constexpr int kTri = kMaxCamParams * (kMaxCamParams + 1) / 2;

__global__ void k_schur_dense(Static s, Lin L, const double* Vinv, int n, double* S) {
  const int o1 = blockIdx.x * blockDim.x + threadIdx.x;
  const bool valid = o1 < s.N;  // no early return: the whole warp takes part in the reduction below
  int cam1 = -1;
  int var1[14];
  double cc[kTri] = {};  // this observation's (intrinsics, intrinsics) entries
  if (valid) {
    const int j = s.obs_point[o1];
    double J1[2][14], Y[14][3];
    obs_cols(s, L, o1, J1, var1);
    cam1 = s.image_camera[s.obs_image[o1]];
    const double* q1 = L.Jpt + 6 * o1;
    const double* Vi = Vinv + 9 * j;
    for (int a = 0; a < 14; ++a) {
      double w[3];
      for (int b = 0; b < 3; ++b) w[b] = J1[0][a] * q1[b] + J1[1][a] * q1[3 + b];
      for (int c = 0; c < 3; ++c) Y[a][c] = s.points_free ? w[0] * Vi[c] + w[1] * Vi[3 + c] + w[2] * Vi[6 + c] : 0.0;
    }
    double Z[3][kMaxCamParams] = {};
    for (int o2 = s.point_obs[j]; o2 < s.point_obs[j + 1]; ++o2) {
      const int i2 = s.obs_image[o2], cam2 = s.image_camera[i2];
      const double* q2 = L.Jpt + 6 * o2;
      const double* Jc2 = L.Jcam + 2 * kMaxCamParams * o2;
      if (cam2 == cam1) {
        for (int c = 0; c < 3; ++c)
          for (int b = 0; b < kMaxCamParams; ++b) Z[c][b] += q2[c] * Jc2[b] + q2[3 + c] * Jc2[kMaxCamParams + b];
      } else {
        for (int a = 0; a < 14; ++a) {
          const int r = var1[a];
          if (r < 0) continue;
          const double t0 = Y[a][0] * q2[0] + Y[a][1] * q2[1] + Y[a][2] * q2[2];
          const double t1 = Y[a][0] * q2[3] + Y[a][1] * q2[4] + Y[a][2] * q2[5];
          for (int b = 0; b < kMaxCamParams; ++b) {
            if (!s.cam_free[kMaxCamParams * cam2 + b]) continue;
            const int c = cam_off(s, cam2) + b;
            const double v = -(t0 * Jc2[b] + t1 * Jc2[kMaxCamParams + b]);
            if (v == 0) continue;
            if (a < 6) atomicAdd(S + static_cast<size_t>(r) * n + c, v);  // pose index r < intrinsics index c
            else if (c <= r) atomicAdd(S + static_cast<size_t>(c) * n + r, v);
          }
        }
      }
      const double* Jp2 = L.Jpose + 12 * o2;
      for (int a = 0; a < 6; ++a) {
        const int r = var1[a];
        if (r < 0) continue;
        const double t0 = Y[a][0] * q2[0] + Y[a][1] * q2[1] + Y[a][2] * q2[2];
        const double t1 = Y[a][0] * q2[3] + Y[a][1] * q2[4] + Y[a][2] * q2[5];
        for (int b = 0; b < 6; ++b) {
          const int c = s.pose_free[6 * i2 + b] ? 6 * i2 + b : -1;
          if (c < 0 || c > r) continue;
          double v = -(t0 * Jp2[b] + t1 * Jp2[6 + b]);
          if (o2 == o1) v += J1[0][a] * J1[0][b] + J1[1][a] * J1[1][b];
          if (v != 0) atomicAdd(S + static_cast<size_t>(c) * n + r, v);
        }
      }
    }
    for (int a = 0; a < 14; ++a) {  // rows a of (pose, intr c1) and (intr c1, intr c1)
      if (var1[a] < 0) continue;
      for (int k = 0; k < (a < 6 ? kMaxCamParams : a - 5); ++k) {
        if (var1[6 + k] < 0) continue;
        const double v = J1[0][a] * J1[0][6 + k] + J1[1][a] * J1[1][6 + k] -
                         (Y[a][0] * Z[0][k] + Y[a][1] * Z[1][k] + Y[a][2] * Z[2][k]);
        if (a >= 6) cc[(a - 6) * (a - 5) / 2 + k] = v;
        else if (v != 0) atomicAdd(S + static_cast<size_t>(var1[a]) * n + var1[6 + k], v);
      }
    }
  }
  // (intrinsics, intrinsics): summed over the warp when every lane has the same camera (or none).
  const int cam0 = __shfl_sync(0xffffffffu, cam1, 0);
  const bool uniform = __all_sync(0xffffffffu, cam1 == cam0 || cam1 < 0);
  const int lane = threadIdx.x & 31;
  for (int ka = 0; ka < kMaxCamParams; ++ka)
    for (int kb = 0; kb <= ka; ++kb) {
      double v = cc[ka * (ka + 1) / 2 + kb];
      if (uniform)
        for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
      if ((uniform && lane != 0) || !valid || v == 0) continue;
      const int r = var1[6 + ka], c = var1[6 + kb];
      if (r >= 0 && c >= 0) atomicAdd(S + static_cast<size_t>(c) * n + r, v);
    }
}

__global__ void k_dense_add_diag(int n, const double* D, double* S) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k < n) S[static_cast<size_t>(k) * n + k] += D[k];
}

// PCG vector updates.
__global__ void k_xr_update(int n, double alpha, const double* p, const double* q, double* x, double* r) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k < n) x[k] += alpha * p[k], r[k] -= alpha * q[k];
}
__global__ void k_p_update(int n, double beta, const double* z, double* p) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k < n) p[k] = z[k] + beta * p[k];
}
__global__ void k_axpy_diag(int n, const double* D, const double* p, double* q) {  // q += D p
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k < n) q[k] += D[k] * p[k];
}

// out[0] += sum a*b (b null: sum a); out[1] += max |a| when absmax.
__global__ void k_dot(int n, const double* a, const double* b, double* out) {
  __shared__ double sh[kBlock];
  double v = 0;
  for (int k = blockIdx.x * blockDim.x + threadIdx.x; k < n; k += blockDim.x * gridDim.x) v += b ? a[k] * b[k] : a[k];
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) atomicAdd(out, sh[0]);
}

}  // namespace vg::ba::cuda
