// Evaluation as simple_trainer.py Runner.eval: render every test view at the full SH degree,
// clamp to [0,1], PSNR / SSIM / LPIPS against the ground truth, GT | render canvases.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "core/cuda_memory.h"
#include "core/fs.h"
#include "core/progress.h"
#include "io/image.h"
#include "metrics/image_metrics.h"
#include "metrics/lpips.h"
#include "splat/trainer.h"

namespace vg {

namespace {

// [H,W,3] on the host, clamped to [0,1].
Tensor clamped_host(const Tensor& t) {
  Tensor h = t.to(Device::cpu());
  float* p = h.data<float>();
  for (int64_t i = 0; i < h.numel(); ++i) p[i] = std::min(1.0f, std::max(0.0f, p[i]));
  return h;
}

// Ground truth left, render right.
Image side_by_side(const Tensor& gt, const Tensor& render) {
  int h = static_cast<int>(gt.size(0)), w = static_cast<int>(gt.size(1));
  Image img;
  img.width = 2 * w;
  img.height = h;
  img.channels = 3;
  img.pixels.resize(static_cast<size_t>(img.width) * h * 3);
  const float* a = gt.data<float>();
  const float* b = render.data<float>();
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        size_t src = (static_cast<size_t>(y) * w + x) * 3 + c;
        img.pixels[(static_cast<size_t>(y) * img.width + x) * 3 + c] = a[src];
        img.pixels[(static_cast<size_t>(y) * img.width + w + x) * 3 + c] = b[src];
      }
  return img;
}

}  // namespace

const Lpips* Trainer::lpips(std::string& reason) {
  if (!lpips_tried_) {
    lpips_tried_ = true;
    std::string path = cfg_.lpips_weights;
    if (path.empty())
      if (const char* e = std::getenv("VGSPLAT_LPIPS_WEIGHTS")) path = e;
    if (path.empty()) {
      lpips_reason_ = "no LPIPS weights (pass --lpips-weights FILE or set VGSPLAT_LPIPS_WEIGHTS)";
    } else {
      try {
        lpips_ = std::make_unique<Lpips>(Lpips::load(path));
      } catch (const std::exception& e) {
        lpips_reason_ = std::string("cannot load LPIPS weights: ") + e.what();
      }
    }
    if (!lpips_) log_warn("LPIPS disabled: " + lpips_reason_);
  }
  reason = lpips_reason_;
  return lpips_.get();
}

EvalStats Trainer::evaluate(int step, bool write_outputs) {
  VG_CHECK(!data_.test.empty(), "the dataset has no test views to evaluate");
  std::string reason;
  const Lpips* lp = lpips(reason);
  EvalStats st;
  st.step = step;
  double lpips_sum = 0, render_time = 0;
  fs::path renders = fs::path(cfg_.result_dir) / "renders";
  for (size_t i = 0; i < data_.test.size(); ++i) {
    const View& v = data_.test[i];
    Tensor gt = data_.load_image(v);
    if (device_.is_cuda()) cuda_synchronize();
    auto tic = std::chrono::steady_clock::now();
    Render r = render_view(g_, v.camera, cfg_.sh_degree, cfg_);
    if (device_.is_cuda()) cuda_synchronize();
    render_time += std::max(std::chrono::duration<double>(std::chrono::steady_clock::now() - tic).count(), 1e-10);
    Tensor img = clamped_host(r.raster.colors);

    char name[64];
    std::snprintf(name, sizeof name, "val_step%d_%04zu.png", step, i);
    if (write_outputs) write_png(renders / name, side_by_side(gt, img));
    st.psnr += psnr(img, gt);
    st.ssim += ssim(img, gt);
    if (lp) lpips_sum += lp->distance(img, gt);
  }
  double n = static_cast<double>(data_.test.size());
  st.psnr /= n;
  st.ssim /= n;
  if (lp) st.lpips = lpips_sum / n;
  else st.lpips_reason = reason;
  st.ellipse_time = render_time / n;
  st.num_gs = g_.size();

  nlohmann::json j = {{"psnr", st.psnr}, {"ssim", st.ssim}, {"ellipse_time", st.ellipse_time}, {"num_GS", st.num_gs}};
  if (st.lpips) {
    j["lpips"] = *st.lpips;
  } else {
    j["lpips"] = nullptr;
    j["lpips_reason"] = st.lpips_reason;
  }
  char stats[64];
  std::snprintf(stats, sizeof stats, "val_step%04d.json", step);
  if (write_outputs) write_file_atomic(fs::path(cfg_.result_dir) / "stats" / stats, j.dump(2));
  char line[200];
  std::snprintf(line, sizeof line, "step %d: PSNR %.3f, SSIM %.4f, LPIPS %s, %.4f s/image, %lld GSs", step, st.psnr,
                st.ssim, st.lpips ? std::to_string(*st.lpips).c_str() : "n/a", st.ellipse_time,
                static_cast<long long>(st.num_gs));
  log_info(line);
  return st;
}

}  // namespace vg
