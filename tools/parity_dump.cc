// parity_dump: renders a random scene with vgsplat's ops (forward + backward on the chosen device)
// and writes inputs, outputs and gradients to a safetensors file, for tools/gsplat_parity.py to
// check against gsplat's PyTorch reference (_torch_impl.py) with autograd.
//   parity_dump OUT.safetensors [device=cuda|cpu] [n=20000] [width=320] [height=240] [sh=3] [aa=0] [seed=1]
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "core/device.h"
#include "io/safetensors.h"
#include "splat/preprocess.h"
#include "splat/rasterize.h"

using namespace vg;

namespace {

Tensor randn(const Shape& s, float mean, float sd, std::mt19937& rng) {
  std::normal_distribution<float> g(mean, sd);
  int64_t n = 1;
  for (auto d : s) n *= d;
  std::vector<float> v(n);
  for (auto& x : v) x = g(rng);
  return Tensor::from_vector(v, s);
}

Tensor uniform(const Shape& s, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(lo, hi);
  int64_t n = 1;
  for (auto d : s) n *= d;
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return Tensor::from_vector(v, s);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: parity_dump OUT.safetensors [device] [n] [width] [height] [sh] [aa] [seed]\n");
    return 2;
  }
  auto arg = [&](int i, const char* def) { return std::string(argc > i ? argv[i] : def); };
  try {
    Device dev = resolve_device(arg(2, "auto"));
    int n = std::stoi(arg(3, "20000")), W = std::stoi(arg(4, "320")), H = std::stoi(arg(5, "240"));
    int sh = std::stoi(arg(6, "3"));
    bool aa = arg(7, "0") == "1";
    std::mt19937 rng(std::stoi(arg(8, "1")));

    Gaussians g;
    g.means = uniform({n, 3}, -1.5f, 1.5f, rng);
    g.scales = uniform({n, 3}, -4.5f, -2.0f, rng);
    g.quats = randn({n, 4}, 0.f, 1.f, rng);
    g.opacities = randn({n}, 0.f, 1.5f, rng);
    g.sh0 = randn({n, 3}, 0.f, 0.5f, rng);
    g.shN = randn({n, 15, 3}, 0.f, 0.2f, rng);
    Camera cam;
    cam.viewmat = {0.96f, 0.0f, -0.28f, 0.1f, 0.05f, 0.98f, 0.17f, -0.05f, 0.27f, -0.18f, 0.94f, 4.0f, 0, 0, 0, 1};
    cam.fx = 0.9f * W; cam.fy = 0.9f * W; cam.cx = 0.5f * W + 3.f; cam.cy = 0.5f * H - 2.f;
    cam.width = W; cam.height = H;
    PreprocessSettings ps;
    ps.sh_degree = sh;
    ps.antialiased = aa;
    std::array<float, 3> bg{0.2f, 0.5f, 0.9f};
    Tensor v_render = randn({H, W, 3}, 0.f, 1.f, rng);

    Gaussians gd = g.to(dev);
    PreprocessOut p = preprocess_forward(gd, cam, ps);
    TileIntersections isect = isect_tiles(p.means2d, p.radii, p.depths, W, H, kTileSize, p.conics, p.opacities);
    RasterOut r = rasterize_forward(p.means2d, p.conics, p.colors, p.opacities, bg, isect, W, H);
    RasterGrads rg = rasterize_backward(p.means2d, p.conics, p.colors, p.opacities, bg, isect, W, H, r,
                                        v_render.to(dev), Tensor(), false);
    GaussianGrads grads = zeros_like(gd);
    preprocess_backward(gd, cam, ps, p, {rg.v_means2d, rg.v_conics, rg.v_opacities, rg.v_colors}, grads);

    SafetensorsWriter w;
    for (int i = 0; i < Gaussians::kGroups; ++i) {
      w.add(std::string("in.") + Gaussians::group_name(i), g.group(i));
      w.add(std::string("grad.") + Gaussians::group_name(i), grads.group(i));
    }
    w.add("in.viewmat", Tensor::from_vector(std::vector<float>(cam.viewmat.begin(), cam.viewmat.end()), {4, 4}));
    w.add("in.K", Tensor::from_vector<float>({cam.fx, 0, cam.cx, 0, cam.fy, cam.cy, 0, 0, 1}, {3, 3}));
    w.add("in.background", Tensor::from_vector<float>({bg[0], bg[1], bg[2]}, {3}));
    w.add("in.v_render", v_render);
    w.add("up.v_means2d", rg.v_means2d);
    w.add("up.v_conics", rg.v_conics);
    w.add("up.v_opacities", rg.v_opacities);
    w.add("up.v_colors", rg.v_colors);
    w.add("out.radii", p.radii);
    w.add("out.means2d", p.means2d);
    w.add("out.depths", p.depths);
    w.add("out.conics", p.conics);
    w.add("out.opacities", p.opacities);
    w.add("out.colors", p.colors);
    w.add("out.render", r.colors);
    w.add("out.alphas", r.alphas);
    w.set_metadata("width", std::to_string(W));
    w.set_metadata("height", std::to_string(H));
    w.set_metadata("sh_degree", std::to_string(sh));
    w.set_metadata("antialiased", aa ? "1" : "0");
    w.set_metadata("device", dev.str());
    w.set_metadata("n_isects", std::to_string(isect.n_isects));
    w.write(argv[1]);
    std::printf("wrote %s (%s, n=%d, %dx%d, isects=%lld)\n", argv[1], dev.str().c_str(), n, W, H,
                static_cast<long long>(isect.n_isects));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parity_dump: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
