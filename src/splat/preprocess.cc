// Dispatch and shape checks of the fused preprocess (see preprocess.h); the math is in
// projection_math.h, run by preprocess_cpu.cc (CPU tensors) or preprocess.cu (CUDA tensors).
#include "splat/preprocess.h"

#include <cmath>

#include "splat/projection_math.h"

namespace vg {
namespace {

void check_device(const char* what, const Tensor& t, Device d) {
  VG_CHECK(t.device() == d, "preprocess: ", what, " is on ", t.device().str(), " but the Gaussians are on ",
           d.str());
}

// Validates the Gaussians and settings; returns the number of shN rows per Gaussian.
int check_inputs(const Gaussians& g, const Camera& cam, const PreprocessSettings& s) {
  VG_CHECK(g.means.defined(), "preprocess: Gaussians have no means");
  int64_t n = g.size();
  g.means.expect("means", {n, 3});
  g.scales.expect("scales", {n, 3});
  g.quats.expect("quats", {n, 4});
  g.opacities.expect("opacities", {n});
  g.sh0.expect("sh0", {n, 3});
  g.shN.expect("shN", {n, -1, 3});
  for (int i = 0; i < Gaussians::kGroups; ++i) check_device(Gaussians::group_name(i), g.group(i), g.device());
  int max_deg = g.max_sh_degree();
  VG_CHECK(s.sh_degree >= 0 && s.sh_degree <= max_deg, "preprocess: sh_degree ", s.sh_degree,
           " outside [0, ", max_deg, "] (the model's SH degree)");
  VG_CHECK(s.sh_degree <= sh::kMaxDegree, "preprocess: sh_degree ", s.sh_degree, " > supported ", sh::kMaxDegree);
  VG_CHECK(cam.width > 0 && cam.height > 0, "preprocess: camera size ", cam.width, "x", cam.height, " is empty");
  VG_CHECK(cam.fx > 0 && cam.fy > 0, "preprocess: focal lengths must be positive, got ", cam.fx, ", ", cam.fy);
  VG_CHECK(s.near_plane < s.far_plane, "preprocess: near_plane ", s.near_plane, " >= far_plane ", s.far_plane);
  return static_cast<int>(g.shN.size(1));
}

proj::View<float> make_view(const Camera& cam) {
  proj::View<float> v{};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) v.R[i * 3 + j] = cam.viewmat[i * 4 + j];
    v.t[i] = cam.viewmat[i * 4 + 3];
  }
  v.fx = cam.fx, v.fy = cam.fy, v.cx = cam.cx, v.cy = cam.cy;
  auto c = cam.position();
  for (int i = 0; i < 3; ++i) v.campos[i] = c[i];
  v.width = cam.width, v.height = cam.height;
  return v;
}

proj::Settings<float> make_settings(const PreprocessSettings& s) {
  return {s.eps2d, s.near_plane, s.far_plane, s.radius_clip, s.antialiased, s.sh_degree};
}

proj::ParamPtrs param_ptrs(const Gaussians& g, int sh_rows) {
  return {g.means.data<float>(), g.scales.data<float>(), g.quats.data<float>(), g.opacities.data<float>(),
          g.sh0.data<float>(),   g.shN.data<float>(),    g.size(),             sh_rows};
}

}  // namespace

PreprocessOut preprocess_forward(const Gaussians& g, const Camera& cam, const PreprocessSettings& s) {
  int sh_rows = check_inputs(g, cam, s);
  int64_t n = g.size();
  Device d = g.device();
  PreprocessOut out;
  out.radii = Tensor::empty({n, 2}, DType::I32, d);
  out.means2d = Tensor::empty({n, 2}, DType::F32, d);
  out.depths = Tensor::empty({n}, DType::F32, d);
  out.conics = Tensor::empty({n, 3}, DType::F32, d);
  out.compensations = Tensor::empty({n}, DType::F32, d);
  out.opacities = Tensor::empty({n}, DType::F32, d);
  out.colors = Tensor::empty({n, 3}, DType::F32, d);
  proj::ForwardPtrs o{out.radii.data<int32_t>(),       out.means2d.data<float>(),   out.depths.data<float>(),
                      out.conics.data<float>(),        out.compensations.data<float>(),
                      out.opacities.data<float>(),     out.colors.data<float>()};
  proj::ParamPtrs p = param_ptrs(g, sh_rows);
  if (d.is_cuda())
    proj::launch_forward_cuda(p, make_view(cam), make_settings(s), o);
  else
    proj::forward_cpu(p, make_view(cam), make_settings(s), o);
  return out;
}

void preprocess_backward(const Gaussians& g, const Camera& cam, const PreprocessSettings& s,
                         const PreprocessOut& fwd, const PreprocessGradsIn& v, GaussianGrads& grads,
                         Tensor* v_viewmat) {
  int sh_rows = check_inputs(g, cam, s);
  int64_t n = g.size();
  Device d = g.device();
  fwd.radii.expect("radii", {n, 2}, DType::I32);
  check_device("radii", fwd.radii, d);
  v.v_means2d.expect("v_means2d", {n, 2});
  v.v_conics.expect("v_conics", {n, 3});
  v.v_opacities.expect("v_opacities", {n});
  v.v_colors.expect("v_colors", {n, 3});
  check_device("v_means2d", v.v_means2d, d);
  check_device("v_conics", v.v_conics, d);
  check_device("v_opacities", v.v_opacities, d);
  check_device("v_colors", v.v_colors, d);
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    const Tensor& t = grads.group(i);
    VG_CHECK(t.defined(), "preprocess_backward: gradient ", Gaussians::group_name(i), " not allocated");
    t.expect(Gaussians::group_name(i), g.group(i).shape());
    check_device(Gaussians::group_name(i), t, d);
  }
  proj::BackwardInPtrs in{fwd.radii.data<int32_t>(), v.v_means2d.data<float>(), v.v_conics.data<float>(),
                          v.v_opacities.data<float>(), v.v_colors.data<float>()};
  proj::GradPtrs out{grads.means.data<float>(),     grads.scales.data<float>(), grads.quats.data<float>(),
                     grads.opacities.data<float>(), grads.sh0.data<float>(),    grads.shN.data<float>()};
  if (v_viewmat) {  // summed over the Gaussians by the launch: starts at zero
    *v_viewmat = Tensor::zeros({4, 4}, DType::F32, d);
    out.viewmat = v_viewmat->data<float>();
  }
  proj::ParamPtrs p = param_ptrs(g, sh_rows);
  if (d.is_cuda())
    proj::launch_backward_cuda(p, make_view(cam), make_settings(s), in, out);
  else
    proj::backward_cpu(p, make_view(cam), make_settings(s), in, out);
}

}  // namespace vg
