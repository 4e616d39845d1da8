// 16-bit VGGT GEMMs through cuBLASLt (bf16 / fp16 inputs, CUBLAS_COMPUTE_32F accumulation, fp32 output).
// The library is opened at run time (dlopen of libcublasLt.so.*): vgsplat_lib links only cudart, and a machine
// without cuBLASLt falls back to the WMMA kernel of cuda_gemm.cu. VGSPLAT_NO_CUBLASLT=1 forces the fallback.
// Activations stay fp32: A is rounded to the 16-bit type into a reused scratch buffer (or comes 16-bit from
// im2col16), the product goes straight into C with bias / ReLU / the plain residual fused into cuBLASLt's
// epilogue; exact GELU and the LayerScale residual (through a scratch product) take one elementwise pass.
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <tuple>

#include "core/cuda_check.h"
#include "core/cuda_memory.h"
#include "core/dynamic_library.h"
#include "vggt/cuda_gemm_internal.h"

namespace vg::vggt::cuda {

namespace {

struct LtApi {
  decltype(&cublasLtCreate) create = nullptr;
  decltype(&cublasLtMatmulDescCreate) desc_create = nullptr;
  decltype(&cublasLtMatmulDescSetAttribute) desc_set = nullptr;
  decltype(&cublasLtMatmulDescDestroy) desc_destroy = nullptr;
  decltype(&cublasLtMatrixLayoutCreate) layout_create = nullptr;
  decltype(&cublasLtMatrixLayoutDestroy) layout_destroy = nullptr;
  decltype(&cublasLtMatmulPreferenceCreate) pref_create = nullptr;
  decltype(&cublasLtMatmulPreferenceSetAttribute) pref_set = nullptr;
  decltype(&cublasLtMatmulPreferenceDestroy) pref_destroy = nullptr;
  decltype(&cublasLtMatmulAlgoGetHeuristic) heuristic = nullptr;
  decltype(&cublasLtMatmul) matmul = nullptr;
  cublasLtHandle_t handle = nullptr;
  bool ok = false;
};

LtApi& api() {
  static LtApi a;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* off = std::getenv("VGSPLAT_NO_CUBLASLT");
    if (off && *off && *off != '0') return;
    void* lib = open_first_library(
        {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so", "/usr/local/cuda/lib64/libcublasLt.so"});
    if (!lib) return;
    bool ok = load_symbol(lib, "cublasLtCreate", a.create) &&
              load_symbol(lib, "cublasLtMatmulDescCreate", a.desc_create) &&
              load_symbol(lib, "cublasLtMatmulDescSetAttribute", a.desc_set) &&
              load_symbol(lib, "cublasLtMatmulDescDestroy", a.desc_destroy) &&
              load_symbol(lib, "cublasLtMatrixLayoutCreate", a.layout_create) &&
              load_symbol(lib, "cublasLtMatrixLayoutDestroy", a.layout_destroy) &&
              load_symbol(lib, "cublasLtMatmulPreferenceCreate", a.pref_create) &&
              load_symbol(lib, "cublasLtMatmulPreferenceSetAttribute", a.pref_set) &&
              load_symbol(lib, "cublasLtMatmulPreferenceDestroy", a.pref_destroy) &&
              load_symbol(lib, "cublasLtMatmulAlgoGetHeuristic", a.heuristic) &&
              load_symbol(lib, "cublasLtMatmul", a.matmul);
    a.ok = ok && a.create(&a.handle) == CUBLAS_STATUS_SUCCESS;
  });
  return a;
}

// A stream-ordered scratch buffer that only grows (freed and reallocated on the default stream).
struct Scratch {
  void* p = nullptr;
  size_t bytes = 0;
  int device = -1;
  void* get(size_t need) {
    int dev = 0;
    VG_CUDA_CHECK(cudaGetDevice(&dev));
    if (need <= bytes && dev == device) return p;
    if (p) cuda_free(p, device);
    bytes = need + need / 4;
    device = dev;
    p = cuda_alloc(bytes, dev);
    return p;
  }
};
Scratch g_a16, g_prod, g_work;
constexpr size_t kWorkspace = 32u << 20;

struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
};

// Row-major C[M,N] (ld ldc) = A[M,K] W[N,K]^T is column-major C^T = W^T-op applied: D(N x M) = op_T(W: K x N) * A(K x M).
// ep: the fused cuBLASLt epilogue (bias / ReLU; its bias pointer is set per call).
const Plan* plan_for(int64_t M, int64_t N, int64_t K, int64_t ldc, cudaDataType_t t, cublasLtEpilogue_t ep) {
  static std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, int, int>, Plan> cache;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_tuple(M, N, K, ldc, static_cast<int>(t), static_cast<int>(ep));
  auto it = cache.find(key);
  if (it != cache.end()) return &it->second;
  LtApi& L = api();
  Plan p;
  if (L.desc_create(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F) != CUBLAS_STATUS_SUCCESS) return nullptr;
  const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  L.desc_set(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta));
  L.desc_set(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb));
  L.desc_set(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep, sizeof(ep));
  L.layout_create(&p.a, t, K, N, K);
  L.layout_create(&p.b, t, K, M, K);
  L.layout_create(&p.c, CUDA_R_32F, N, M, ldc);
  cublasLtMatmulPreference_t pref = nullptr;
  L.pref_create(&pref);
  const size_t ws = kWorkspace;
  L.pref_set(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
  cublasLtMatmulHeuristicResult_t res{};
  int found = 0;
  const bool ok = L.heuristic(L.handle, p.desc, p.a, p.b, p.c, p.c, pref, 1, &res, &found) == CUBLAS_STATUS_SUCCESS &&
                  found > 0;
  L.pref_destroy(pref);
  if (!ok) {
    L.layout_destroy(p.a), L.layout_destroy(p.b), L.layout_destroy(p.c), L.desc_destroy(p.desc);
    return nullptr;
  }
  p.algo = res.algo;
  return &(cache[key] = p);
}

__global__ void round_kernel(const float* src, void* dst, int64_t n, bool bf16) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    if (bf16)
      static_cast<__nv_bfloat16*>(dst)[i] = __float2bfloat16_rn(src[i]);
    else
      static_cast<__half*>(dst)[i] = __float2half_rn(src[i]);
  }
}

__global__ void epilogue_kernel(float* C, int64_t ldc, const float* prod, int64_t M, int64_t N, const float* bias,
                                Epilogue epi, const float* gamma) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < M * N;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t m = i / N, n = i % N;
    float* dst = C + m * ldc + n;
    const float v = (prod ? prod[i] : *dst) + (bias ? bias[n] : 0.0f);
    switch (epi) {
      case Epilogue::kStore: *dst = v; break;
      case Epilogue::kGelu: *dst = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); break;
      case Epilogue::kRelu: *dst = fmaxf(v, 0.0f); break;
      case Epilogue::kResidual: *dst += (gamma ? gamma[n] : 1.0f) * v; break;
    }
  }
}

unsigned blocks(int64_t n) {
  const int64_t b = (n + 255) / 256;
  return static_cast<unsigned>(b < (1 << 20) ? b : (1 << 20));
}

}  // namespace

namespace {

// How an Epilogue runs: fused into cuBLASLt (bias, ReLU, and the residual without LayerScale as beta = 1 on C
// itself), or as a separate pass (exact erf GELU; LayerScale residual through a scratch product).
struct Route {
  cublasLtEpilogue_t ep = CUBLASLT_EPILOGUE_DEFAULT;
  bool fused = true;    // nothing left after the matmul
  bool into_c = true;   // D is C (else the scratch product)
  float beta = 0.0f;
};

Route route_for(Epilogue epi, bool has_bias, bool has_gamma) {
  Route r;
  switch (epi) {
    case Epilogue::kStore: r.ep = has_bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT; break;
    case Epilogue::kRelu: r.ep = has_bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU; break;
    case Epilogue::kGelu: r.fused = false; break;  // cuBLASLt's GELU is the tanh approximation
    case Epilogue::kResidual:
      if (has_gamma) r.fused = false, r.into_c = false;
      else r.ep = has_bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT, r.beta = 1.0f;
      break;
  }
  return r;
}

// C = epilogue(A16 W^T + bias) with A16 in the 16-bit type.
void lt_matmul(const void* a16, int64_t M, int64_t K, const void* W, int64_t N, const float* bias, float* C,
               int64_t ldc, Epilogue epi, const float* gamma, const Plan* plan, const Route& r) {
  float* prod = r.into_c ? C : static_cast<float*>(g_prod.get(static_cast<size_t>(M * N) * 4));
  LtApi& L = api();
  if (r.ep == CUBLASLT_EPILOGUE_BIAS || r.ep == CUBLASLT_EPILOGUE_RELU_BIAS)
    L.desc_set(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias));
  const float one = 1.0f;
  const cublasStatus_t st = L.matmul(L.handle, plan->desc, &one, W, plan->a, a16, plan->b, &r.beta, prod, plan->c, prod,
                                     plan->c, &plan->algo, g_work.get(kWorkspace), kWorkspace, 0);
  VG_CHECK(st == CUBLAS_STATUS_SUCCESS, "cublasLtMatmul failed with status ", static_cast<int>(st), " (M ", M, ", N ",
           N, ", K ", K, ")");
  if (r.fused) return;
  epilogue_kernel<<<blocks(M * N), 256>>>(C, ldc, r.into_c ? nullptr : prod, M, N, bias, epi, gamma);
  VG_CUDA_CHECK_LAUNCH();
}

const Plan* plan_if_supported(int64_t M, int64_t K, int64_t N, int64_t ldc, Precision p, const Route& r) {
  if (p == Precision::F32 || !api().ok) return nullptr;
  if (K % 8 != 0) return nullptr;  // 16-byte aligned rows for the tensor-core kernels
  return plan_for(M, N, K, r.into_c ? ldc : N, p == Precision::BF16 ? CUDA_R_16BF : CUDA_R_16F, r.ep);
}

}  // namespace

bool cublaslt_available() { return api().ok; }

bool cublaslt_linear(const float* A, int64_t M, int64_t K, const void* W, int64_t N, const float* bias, float* C,
                     int64_t ldc, Epilogue epi, const float* gamma, Precision p) {
  const Route r = route_for(epi, bias != nullptr, gamma != nullptr);
  const Plan* plan = plan_if_supported(M, K, N, ldc, p, r);
  if (!plan) return false;
  void* a16 = g_a16.get(static_cast<size_t>(M * K) * 2);
  round_kernel<<<blocks(M * K), 256>>>(A, a16, M * K, p == Precision::BF16);
  VG_CUDA_CHECK_LAUNCH();
  lt_matmul(a16, M, K, W, N, bias, C, ldc, epi, gamma, plan, r);
  return true;
}

bool cublaslt_linear_a16(const void* A16, int64_t M, int64_t K, const void* W, int64_t N, const float* bias, float* C,
                         int64_t ldc, Epilogue epi, const float* gamma, Precision p) {
  const Route r = route_for(epi, bias != nullptr, gamma != nullptr);
  const Plan* plan = plan_if_supported(M, K, N, ldc, p, r);
  if (!plan) return false;
  lt_matmul(A16, M, K, W, N, bias, C, ldc, epi, gamma, plan, r);
  return true;
}

}  // namespace vg::vggt::cuda
