#include "splat/strategy.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/parallel.h"
#include "core/tensor_ops.h"
#include "splat/strategy_kernels.h"

namespace vg {
namespace {

using AdamGroups = AdamState[Gaussians::kGroups];
constexpr int kMeans = 0, kScales = 1, kOpacities = 3;

Tensor ids_tensor(const std::vector<int32_t>& ids, Device d) {
  return Tensor::from_vector(ids, {static_cast<int64_t>(ids.size())}, d);
}

Tensor zero_rows_like(const Tensor& t, int64_t rows) {
  Shape s = t.shape();
  s[0] = rows;
  return Tensor::zeros(s, t.dtype(), t.device());
}

void check_model(const Gaussians& g, AdamGroups& adam, const char* op) {
  const int64_t n = g.size();
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    const Tensor& p = g.group(i);
    VG_CHECK(p.defined() && p.ndim() >= 1 && p.size(0) == n && p.device() == g.device(), op, ": parameter group ",
             Gaussians::group_name(i), " is not a [", n, ", ...] tensor on ", g.device().str());
    for (const Tensor* m : {&adam[i].exp_avg, &adam[i].exp_avg_sq})
      VG_CHECK(!m->defined() || m->shape() == p.shape(), op, ": Adam moment of ", Gaussians::group_name(i),
               " has shape ", shape_str(m->shape()), ", parameter ", shape_str(p.shape()));
  }
}

// Applies `fp` to every parameter group and `fm` to both Adam moments of every group (moments left
// undefined stay so).
template <typename FP, typename FM>
void update_groups(Gaussians& g, AdamGroups& adam, FP fp, FM fm) {
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    g.group(i) = fp(i, g.group(i));
    for (Tensor* m : {&adam[i].exp_avg, &adam[i].exp_avg_sq})
      if (m->defined()) *m = fm(*m);
  }
}

std::vector<uint8_t> ids_to_mask(const std::vector<int32_t>& ids, int64_t n, const char* op) {
  std::vector<uint8_t> mask(static_cast<size_t>(n), 0);
  for (int32_t id : ids) {
    VG_CHECK(id >= 0 && id < n, op, ": id ", id, " out of range [0, ", n, ")");
    VG_CHECK(!mask[id], op, ": id ", id, " given twice");
    mask[id] = 1;
  }
  return mask;
}

// R(q) for a unit quaternion (w, x, y, z), row-major (gsplat normalized_quat_to_rotmat).
std::array<float, 9> rotmat(float w, float x, float y, float z) {
  return {1 - 2 * (y * y + z * z), 2 * (x * y - w * z),     2 * (x * z + w * y),
          2 * (x * y + w * z),     1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
          2 * (x * z - w * y),     2 * (y * z + w * x),     1 - 2 * (x * x + y * y)};
}

float logit(float p) { return std::log(p / (1.0f - p)); }
float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

DefaultStrategy::DefaultStrategy(StrategyConfig cfg, float scene_scale, uint64_t seed) : cfg_(cfg), rng_(seed) {
  VG_CHECK(cfg_.refine_every > 0, "strategy: refine_every must be positive, got ", cfg_.refine_every);
  VG_CHECK(cfg_.reset_every > 0, "strategy: reset_every must be positive, got ", cfg_.reset_every);
  VG_CHECK(scene_scale > 0, "strategy: scene_scale must be positive, got ", scene_scale);
  state_.scene_scale = scene_scale;
}

// ---- gradient statistics (gsplat _update_state) ------------------------------------------------

void DefaultStrategy::step_post_backward_accumulate(const Tensor& v_means2d, const Tensor& radii, int width,
                                                    int height) {
  v_means2d.expect("strategy v_means2d", {-1, 2});
  const int64_t n = v_means2d.size(0);
  radii.expect("strategy radii", {n, 2}, DType::I32);
  VG_CHECK(radii.device() == v_means2d.device(), "strategy: radii on ", radii.device().str(), ", v_means2d on ",
           v_means2d.device().str());
  VG_CHECK(width > 0 && height > 0, "strategy: bad image size ", width, "x", height);
  const Device d = v_means2d.device();
  if (!state_.grad2d.defined() || state_.grad2d.size(0) != n || !(state_.grad2d.device() == d)) {
    state_.grad2d = Tensor::zeros({n}, DType::F32, d);  // created lazily, on the gradients' device
    state_.count = Tensor::zeros({n}, DType::F32, d);
  }
  const float sx = static_cast<float>(width / 2.0), sy = static_cast<float>(height / 2.0);
  const float* vm = v_means2d.data<float>();
  const int32_t* r = radii.data<int32_t>();
  float* g2 = state_.grad2d.data<float>();
  float* c = state_.count.data<float>();
  if (d.is_cuda()) {
    detail::accumulate_grad2d_cuda(vm, r, n, sx, sy, g2, c);
    return;
  }
  parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) detail::accumulate_one(i, vm, r, sx, sy, g2, c);
  }, 1 << 14);
}

void DefaultStrategy::step_post_backward_accumulate(int step, const Tensor& v_means2d, const Tensor& radii,
                                                    int width, int height) {
  if (step >= cfg_.refine_stop_iter) return;
  step_post_backward_accumulate(v_means2d, radii, width, height);
}

Tensor DefaultStrategy::refine_flags(const Gaussians& g) const {
  const int64_t n = g.size();
  g.scales.expect("strategy scales", {n, 3});
  g.opacities.expect("strategy opacities", {n});
  const bool stats = state_.grad2d.defined() && state_.grad2d.size(0) == n && state_.grad2d.device() == g.device();
  const detail::RefineThresholds t{cfg_.grow_grad2d,
                                   static_cast<float>(double(cfg_.grow_scale3d) * state_.scene_scale),
                                   cfg_.prune_opa, static_cast<float>(double(cfg_.prune_scale3d) * state_.scene_scale)};
  const float* g2 = stats ? state_.grad2d.data<float>() : nullptr;
  const float* c = stats ? state_.count.data<float>() : nullptr;
  Tensor flags = Tensor::empty({n}, DType::U8, g.device());
  if (g.device().is_cuda()) {
    detail::refine_flags_cuda(g2, c, g.scales.data<float>(), g.opacities.data<float>(), n, t, flags.data<uint8_t>());
  } else {
    uint8_t* f = flags.data<uint8_t>();
    const float* scales = g.scales.data<float>();
    const float* opacities = g.opacities.data<float>();
    parallel_for(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) f[i] = detail::refine_flags_one(i, g2, c, scales, opacities, t);
    }, 1 << 14);
  }
  return flags;
}

// ---- refine schedule (gsplat step_post_backward, run after the optimizer step) -----------------

RefineStats DefaultStrategy::step_post_optimizer(int step, Gaussians& g, AdamGroups& adam) {
  RefineStats stats;
  if (step >= cfg_.refine_stop_iter) return stats;
  if (step > cfg_.refine_start_iter && step % cfg_.refine_every == 0 &&
      step % cfg_.reset_every >= cfg_.pause_refine_after_reset) {
    grow(g, adam, stats);
    prune_by_flags(step, g, adam, stats);
    state_.grad2d = Tensor::zeros({g.size()}, DType::F32, g.device());
    state_.count = Tensor::zeros({g.size()}, DType::F32, g.device());
  }
  if (step % cfg_.reset_every == 0 && step > 0) {
    reset_opacity(g, adam, cfg_.prune_opa * 2.0f);
    stats.reset = true;
  }
  return stats;
}

// Duplicate small / split large high-gradient Gaussians (gsplat _grow_gs): duplicates are appended
// first, then the split uses the pre-duplication mask (appended rows are never split).
void DefaultStrategy::grow(Gaussians& g, AdamGroups& adam, RefineStats& stats) {
  const std::vector<uint8_t> flags = refine_flags(g).to_vector<uint8_t>();
  std::vector<int32_t> dupli, split_ids;
  for (size_t i = 0; i < flags.size(); ++i) {
    if (!(flags[i] & detail::kGradHigh)) continue;
    (flags[i] & detail::kSmall ? dupli : split_ids).push_back(static_cast<int32_t>(i));
  }
  cap_growth(g.size(), dupli, split_ids);
  stats.duplicated = static_cast<int64_t>(dupli.size());
  stats.split = static_cast<int64_t>(split_ids.size());
  if (!dupli.empty()) duplicate(g, adam, dupli);
  if (!split_ids.empty()) split(g, adam, split_ids);
}

// --max-gaussians: a duplicate or a split adds one Gaussian; when the candidates would take the model past
// the cap, only the `cap - n` with the highest mean 2D gradient (grad2d / count, the growth criterion) grow.
void DefaultStrategy::cap_growth(int64_t n, std::vector<int32_t>& dupli, std::vector<int32_t>& split_ids) const {
  if (cfg_.max_gaussians <= 0) return;
  const int64_t room = std::max<int64_t>(cfg_.max_gaussians - n, 0);
  if (static_cast<int64_t>(dupli.size() + split_ids.size()) <= room) return;
  const std::vector<float> grad = state_.grad2d.to(Device::cpu()).to_vector<float>();
  const std::vector<float> count = state_.count.to(Device::cpu()).to_vector<float>();
  auto mean_grad = [&](int32_t i) { return grad[i] / std::max(count[i], 1.0f); };
  std::vector<int32_t> all(dupli);
  all.insert(all.end(), split_ids.begin(), split_ids.end());
  // Ties broken by index, so the choice does not depend on the sort's implementation.
  std::nth_element(all.begin(), all.begin() + room, all.end(), [&](int32_t a, int32_t b) {
    const float ga = mean_grad(a), gb = mean_grad(b);
    return ga != gb ? ga > gb : a < b;
  });
  std::vector<uint8_t> keep(static_cast<size_t>(n), 0);
  for (int64_t k = 0; k < room; ++k) keep[all[k]] = 1;
  auto drop = [&](std::vector<int32_t>& ids) {
    ids.erase(std::remove_if(ids.begin(), ids.end(), [&](int32_t i) { return !keep[i]; }), ids.end());
  };
  drop(dupli);
  drop(split_ids);
}

// Prune transparent Gaussians, and too-large ones once past the first opacity reset (gsplat _prune_gs).
void DefaultStrategy::prune_by_flags(int step, Gaussians& g, AdamGroups& adam, RefineStats& stats) {
  std::vector<uint8_t> remove = refine_flags(g).to_vector<uint8_t>();
  const bool check_big = step > cfg_.reset_every;
  for (uint8_t& f : remove) f = (f & detail::kLowOpacity) || (check_big && (f & detail::kTooBig));
  int64_t n = 0;
  for (uint8_t f : remove) n += f;
  stats.pruned = n;
  if (n > 0) prune(g, adam, remove);
}

// ---- the densification operations (gsplat strategy/ops.py) --------------------------------------

void DefaultStrategy::duplicate(Gaussians& g, AdamGroups& adam, const std::vector<int32_t>& ids) {
  check_model(g, adam, "duplicate");
  ids_to_mask(ids, g.size(), "duplicate");
  if (ids.empty()) return;
  const Tensor sel = ids_tensor(ids, g.device());
  const int64_t n = sel.numel();
  update_groups(
      g, adam, [&](int, const Tensor& p) { return cat_rows(p, index_select_rows(p, sel)); },
      [&](const Tensor& m) { return cat_rows(m, zero_rows_like(m, n)); });
  for (Tensor* s : {&state_.grad2d, &state_.count})
    if (s->defined() && s->size(0) + n == g.size()) *s = cat_rows(*s, index_select_rows(*s, sel));
}

void DefaultStrategy::split(Gaussians& g, AdamGroups& adam, const std::vector<int32_t>& ids) {
  check_model(g, adam, "split");
  const int64_t n_old = g.size();
  const std::vector<uint8_t> mask = ids_to_mask(ids, n_old, "split");
  std::vector<int32_t> sel, rest;
  for (int64_t i = 0; i < n_old; ++i) (mask[i] ? sel : rest).push_back(static_cast<int32_t>(i));
  const int64_t n = static_cast<int64_t>(sel.size());
  if (n == 0) return;
  const Device d = g.device();
  const Tensor sel_t = ids_tensor(sel, d), rest_t = ids_tensor(rest, d);
  std::vector<int32_t> gather = rest;  // rest, then the selected rows twice (torch .repeat(2))
  gather.insert(gather.end(), sel.begin(), sel.end());
  gather.insert(gather.end(), sel.begin(), sel.end());
  const Tensor gather_t = ids_tensor(gather, d);

  // Children: means = mean + R(q) diag(exp(s)) z, z ~ N(0, I), drawn as torch.randn(2, n, 3); scales = exp(s) / 1.6.
  const std::vector<float> means = index_select_rows(g.means, sel_t).to_vector<float>();
  const std::vector<float> scales = index_select_rows(g.scales, sel_t).to_vector<float>();
  const std::vector<float> quats = index_select_rows(g.quats, sel_t).to_vector<float>();
  std::vector<float> noise(static_cast<size_t>(2 * n * 3));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& z : noise) z = normal(rng_);
  std::vector<float> child_means(noise.size()), child_scales(noise.size());
  for (int64_t k = 0; k < n; ++k) {
    const float* q = &quats[4 * k];
    float qn = std::max(std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]), 1e-12f);
    const std::array<float, 9> R = rotmat(q[0] / qn, q[1] / qn, q[2] / qn, q[3] / qn);
    float s[3];
    for (int j = 0; j < 3; ++j) s[j] = std::exp(scales[3 * k + j]);
    for (int b = 0; b < 2; ++b) {
      const float* z = &noise[3 * (b * n + k)];
      for (int i = 0; i < 3; ++i) {
        float sample = R[3 * i] * s[0] * z[0] + R[3 * i + 1] * s[1] * z[1] + R[3 * i + 2] * s[2] * z[2];
        child_means[3 * (b * n + k) + i] = means[3 * k + i] + sample;
        child_scales[3 * (b * n + k) + i] = std::log(s[i] / 1.6f);
      }
    }
  }
  std::vector<float> child_opacities;
  if (cfg_.revised_opacity) {  // arXiv:2404.06109: 1 - sqrt(1 - sigmoid(o)) per child
    const std::vector<float> o = index_select_rows(g.opacities, sel_t).to_vector<float>();
    child_opacities.resize(2 * n);
    for (int64_t k = 0; k < 2 * n; ++k) child_opacities[k] = logit(1.0f - std::sqrt(1.0f - sigmoid(o[k % n])));
  }

  auto param_fn = [&](int group, const Tensor& p) {
    if (group == kMeans) return cat_rows(index_select_rows(p, rest_t), Tensor::from_vector(child_means, {2 * n, 3}, d));
    if (group == kScales)
      return cat_rows(index_select_rows(p, rest_t), Tensor::from_vector(child_scales, {2 * n, 3}, d));
    if (group == kOpacities && cfg_.revised_opacity)
      return cat_rows(index_select_rows(p, rest_t), Tensor::from_vector(child_opacities, {2 * n}, d));
    return index_select_rows(p, gather_t);
  };
  update_groups(g, adam, param_fn,
                [&](const Tensor& m) { return cat_rows(index_select_rows(m, rest_t), zero_rows_like(m, 2 * n)); });
  for (Tensor* s : {&state_.grad2d, &state_.count})
    if (s->defined() && s->size(0) == n_old) *s = index_select_rows(*s, gather_t);
}

void DefaultStrategy::prune(Gaussians& g, AdamGroups& adam, const std::vector<uint8_t>& remove) {
  check_model(g, adam, "prune");
  const int64_t n_old = g.size();
  VG_CHECK(static_cast<int64_t>(remove.size()) == n_old, "prune: mask has ", remove.size(), " entries for ", n_old,
           " Gaussians");
  std::vector<int32_t> keep;
  for (int64_t i = 0; i < n_old; ++i)
    if (!remove[i]) keep.push_back(static_cast<int32_t>(i));
  if (static_cast<int64_t>(keep.size()) == n_old) return;
  const Tensor keep_t = ids_tensor(keep, g.device());
  auto gather = [&](const Tensor& t) { return index_select_rows(t, keep_t); };
  update_groups(g, adam, [&](int, const Tensor& p) { return gather(p); }, gather);
  for (Tensor* s : {&state_.grad2d, &state_.count})
    if (s->defined() && s->size(0) == n_old) *s = gather(*s);
}

// opacities = min(opacities, logit(value)); the opacity group's Adam moments restart from zero (gsplat reset_opa).
void DefaultStrategy::reset_opacity(Gaussians& g, AdamGroups& adam, float value) {
  VG_CHECK(value > 0.0f && value < 1.0f, "reset_opacity: value must be in (0, 1), got ", value);
  check_model(g, adam, "reset_opacity");
  clamp_max_(g.opacities, logit(value));
  for (Tensor* m : {&adam[kOpacities].exp_avg, &adam[kOpacities].exp_avg_sq})
    if (m->defined()) m->zero_();
}

}  // namespace vg
