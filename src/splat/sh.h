// Real spherical harmonics up to degree 3 in the "fast" closed form of Sloan, "Efficient Spherical
// Harmonic Evaluation" (JCGT 2013), with the sign convention and constants of gsplat's
// spherical_harmonics (and the Inria 3DGS code). Shared by the CPU reference and the CUDA kernels:
// every function is a templated inline usable from host and device (C++17-clean).
#pragma once

#if defined(__CUDACC__)
#define VG_HD __host__ __device__ __forceinline__
#else
#define VG_HD inline
#endif

namespace vg::sh {

constexpr int kMaxDegree = 3;
constexpr int kMaxCoeffs = (kMaxDegree + 1) * (kMaxDegree + 1);  // 16

// Basis values b[0 .. (degree+1)^2) at the unit direction (x, y, z).
template <typename T>
VG_HD void eval_basis(int degree, T x, T y, T z, T* b) {
  b[0] = T(0.2820947917738781);
  if (degree < 1) return;
  b[1] = T(-0.48860251190292) * y;
  b[2] = T(0.48860251190292) * z;
  b[3] = T(-0.48860251190292) * x;
  if (degree < 2) return;
  const T z2 = z * z, fTmp0B = T(-1.092548430592079) * z;
  const T fC1 = x * x - y * y, fS1 = T(2) * x * y;
  b[4] = T(0.5462742152960395) * fS1;
  b[5] = fTmp0B * y;
  b[6] = T(0.9461746957575601) * z2 - T(0.3153915652525201);
  b[7] = fTmp0B * x;
  b[8] = T(0.5462742152960395) * fC1;
  if (degree < 3) return;
  const T fTmp0C = T(-2.285228997322329) * z2 + T(0.4570457994644658);
  const T fTmp1B = T(1.445305721320277) * z;
  const T fC2 = x * fC1 - y * fS1, fS2 = x * fS1 + y * fC1;
  b[9] = T(-0.5900435899266435) * fS2;
  b[10] = fTmp1B * fS1;
  b[11] = fTmp0C * y;
  b[12] = z * (T(1.865881662950577) * z2 - T(1.119528997770346));
  b[13] = fTmp0C * x;
  b[14] = fTmp1B * fC1;
  b[15] = T(-0.5900435899266435) * fC2;
}

// Given w[k] = d loss / d b[k], accumulates d loss / d (x, y, z) treating x, y, z as independent
// (the unit-norm constraint is handled by normalize_vjp).
template <typename T>
VG_HD void eval_basis_vjp(int degree, T x, T y, T z, const T* w, T& v_x, T& v_y, T& v_z) {
  if (degree < 1) return;
  const T c1 = T(0.48860251190292);
  v_x += -c1 * w[3];
  v_y += -c1 * w[1];
  v_z += c1 * w[2];
  if (degree < 2) return;
  const T c4 = T(0.5462742152960395), c5 = T(-1.092548430592079), c6 = T(0.9461746957575601);
  // b4 = 2 c4 x y, b5 = c5 y z, b6 = c6 z^2 - .., b7 = c5 x z, b8 = c4 (x^2 - y^2)
  v_x += w[4] * T(2) * c4 * y + w[7] * c5 * z + w[8] * T(2) * c4 * x;
  v_y += w[4] * T(2) * c4 * x + w[5] * c5 * z - w[8] * T(2) * c4 * y;
  v_z += w[5] * c5 * y + w[6] * T(2) * c6 * z + w[7] * c5 * x;
  if (degree < 3) return;
  const T fC1 = x * x - y * y, fS1 = T(2) * x * y, z2 = z * z;
  const T fTmp0C = T(-2.285228997322329) * z2 + T(0.4570457994644658);
  const T dTmp0C = T(-2.285228997322329) * T(2) * z;  // d fTmp0C / dz
  const T c10 = T(1.445305721320277), c9 = T(-0.5900435899266435);
  // fS2 = 3x^2 y - y^3, fC2 = x^3 - 3 x y^2
  const T fS2_x = T(6) * x * y, fS2_y = T(3) * (x * x - y * y);
  const T fC2_x = T(3) * (x * x - y * y), fC2_y = T(-6) * x * y;
  v_x += w[9] * c9 * fS2_x + w[10] * c10 * z * T(2) * y + w[13] * fTmp0C + w[14] * c10 * z * T(2) * x +
         w[15] * c9 * fC2_x;
  v_y += w[9] * c9 * fS2_y + w[10] * c10 * z * T(2) * x + w[11] * fTmp0C - w[14] * c10 * z * T(2) * y +
         w[15] * c9 * fC2_y;
  v_z += w[10] * c10 * fS1 + w[11] * dTmp0C * y +
         w[12] * (T(3) * T(1.865881662950577) * z2 - T(1.119528997770346)) + w[13] * dTmp0C * x +
         w[14] * c10 * fC1;
}

}  // namespace vg::sh
