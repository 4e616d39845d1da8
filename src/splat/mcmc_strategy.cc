#include "splat/mcmc_strategy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "core/parallel.h"
#include "core/tensor_ops.h"
#include "splat/mcmc_kernels.h"

namespace vg {
namespace {

using AdamGroups = AdamState[Gaussians::kGroups];

const double* host_binoms() {
  static const std::vector<double> table = [] {
    std::vector<double> t(detail::kRelocNMax * detail::kRelocNMax);
    detail::fill_binomial_table(t.data());
    return t;
  }();
  return table.data();
}

Tensor ids_tensor(const std::vector<int32_t>& ids, Device d) {
  return Tensor::from_vector(ids, {static_cast<int64_t>(ids.size())}, d);
}

int64_t row_elems(const Tensor& t) { return t.size(0) > 0 ? t.numel() / t.size(0) : 0; }

void check_model(const Gaussians& g, AdamGroups& adam, const char* op) {
  const int64_t n = g.size();
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    const Tensor& p = g.group(i);
    VG_CHECK(p.defined() && p.ndim() >= 1 && p.size(0) == n && p.dtype() == DType::F32 && p.device() == g.device(),
             op, ": parameter group ", Gaussians::group_name(i), " is not an F32 [", n, ", ...] tensor on ",
             g.device().str());
    for (const Tensor* m : {&adam[i].exp_avg, &adam[i].exp_avg_sq})
      VG_CHECK(!m->defined() || (m->shape() == p.shape() && m->device() == p.device()), op, ": Adam moment of ",
               Gaussians::group_name(i), " has shape ", shape_str(m->shape()), ", parameter ", shape_str(p.shape()));
  }
  g.scales.expect("mcmc scales", {n, 3});
  g.opacities.expect("mcmc opacities", {n});
  g.quats.expect("mcmc quats", {n, 4});
}

std::vector<float> host_opacities(const Gaussians& g) {
  std::vector<float> o = g.opacities.to(Device::cpu()).to_vector<float>();
  for (float& x : o) x = 1.0f / (1.0f + std::exp(-x));
  return o;
}

// The distinct sampled rows and their eq. 9 ratios 1 + (times drawn) (torch.bincount(sampled)[sampled] + 1).
void ratios_of(const std::vector<int32_t>& sampled, std::vector<int32_t>& ids, std::vector<int32_t>& ratios) {
  std::map<int32_t, int32_t> count;
  for (int32_t s : sampled) ++count[s];
  ids.clear();
  ratios.clear();
  for (const auto& [id, c] : count) ids.push_back(id), ratios.push_back(c + 1);
}

// opacities / scales of the distinct rows `ids` <- eq. 9 for their ratios (in place).
void relocate_rows(Gaussians& g, const std::vector<int32_t>& ids, const std::vector<int32_t>& ratios,
                   float min_opacity) {
  const int64_t m = static_cast<int64_t>(ids.size());
  if (m == 0) return;
  float* o = g.opacities.data<float>();
  float* s = g.scales.data<float>();
  if (g.device().is_cuda()) {
    const Tensor ids_t = ids_tensor(ids, g.device()), ratios_t = ids_tensor(ratios, g.device());
    detail::relocate_rows_cuda(ids_t.data<int32_t>(), ratios_t.data<int32_t>(), m, min_opacity, o, s);
    return;
  }
  const double* binoms = host_binoms();
  parallel_for(m, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) detail::relocate_row(ids[k], ratios[k], binoms, min_opacity, o, s);
  }, 256);
}

// t[dst[k]] = t[src[k]] (row-wise; dst and src disjoint).
void copy_rows(Tensor& t, const Tensor& dst, const Tensor& src, const std::vector<int32_t>& dst_h,
               const std::vector<int32_t>& src_h) {
  const int64_t re = row_elems(t), m = static_cast<int64_t>(dst_h.size());
  float* d = t.data<float>();
  if (t.is_cuda()) return detail::copy_rows_cuda(d, re, dst.data<int32_t>(), src.data<int32_t>(), m);
  for (int64_t k = 0; k < m; ++k)
    std::memcpy(d + dst_h[k] * re, d + src_h[k] * re, static_cast<size_t>(re) * sizeof(float));
}

void zero_rows(Tensor& t, const Tensor& ids, const std::vector<int32_t>& ids_h) {
  const int64_t re = row_elems(t), m = static_cast<int64_t>(ids_h.size());
  float* d = t.data<float>();
  if (t.is_cuda()) return detail::zero_rows_cuda(d, re, ids.data<int32_t>(), m);
  for (int32_t id : ids_h) std::fill(d + id * re, d + (id + 1) * re, 0.0f);
}

}  // namespace

MCMCStrategy::MCMCStrategy(MCMCConfig cfg, uint64_t noise_key, uint64_t rng_seed)
    : cfg_(cfg), noise_key_(noise_key), rng_(rng_seed) {
  VG_CHECK(cfg_.refine_every > 0, "mcmc: refine_every must be positive, got ", cfg_.refine_every);
  VG_CHECK(cfg_.cap_max > 0, "mcmc: cap_max must be positive, got ", cfg_.cap_max);
  VG_CHECK(cfg_.min_opacity > 0 && cfg_.min_opacity < 1, "mcmc: min_opacity must be in (0, 1), got ",
           cfg_.min_opacity);
}

MCMCStats MCMCStrategy::step_post_optimizer(int step, Gaussians& g, AdamGroups& adam, double means_lr) {
  MCMCStats st;
  if (step < cfg_.refine_stop_iter && step > cfg_.refine_start_iter && step % cfg_.refine_every == 0) {
    st.relocated = relocate_dead(g, adam);
    st.added = add_new(g, adam);
    st.refined = true;
  }
  if (cfg_.noise_injection_stop_iter < 0 || step < cfg_.noise_injection_stop_iter)
    inject_noise(g, static_cast<float>(means_lr * cfg_.noise_lr), step);
  return st;
}

std::vector<int32_t> MCMCStrategy::multinomial(const std::vector<float>& weights, int64_t n, std::mt19937_64& rng) {
  std::vector<double> cum(weights.size());
  double total = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    VG_CHECK(weights[i] >= 0 && std::isfinite(weights[i]), "multinomial: weight ", i, " is ", weights[i]);
    cum[i] = total += weights[i];
  }
  VG_CHECK(total > 0 || n == 0, "multinomial: every weight is zero");
  std::vector<int32_t> out(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (int32_t& x : out) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * total;  // [0, total), portable
    const size_t i = static_cast<size_t>(std::upper_bound(cum.begin(), cum.end(), u) - cum.begin());
    x = static_cast<int32_t>(std::min(i, cum.size() - 1));
  }
  return out;
}

int64_t MCMCStrategy::relocate_dead(Gaussians& g, AdamGroups& adam) {
  const std::vector<float> o = host_opacities(g);
  std::vector<int32_t> dead, alive;
  std::vector<float> w;
  for (size_t i = 0; i < o.size(); ++i) {
    if (o[i] <= cfg_.min_opacity) {
      dead.push_back(static_cast<int32_t>(i));
    } else {
      alive.push_back(static_cast<int32_t>(i));
      w.push_back(o[i]);
    }
  }
  if (dead.empty() || alive.empty()) return 0;  // nothing to move, or nowhere to move it
  std::vector<int32_t> sampled = multinomial(w, static_cast<int64_t>(dead.size()), rng_);
  for (int32_t& s : sampled) s = alive[s];
  relocate(g, adam, dead, sampled);
  return static_cast<int64_t>(dead.size());
}

int64_t MCMCStrategy::add_new(Gaussians& g, AdamGroups& adam) {
  const int64_t n = g.size();
  const int64_t target = std::min<int64_t>(cfg_.cap_max, static_cast<int64_t>(1.05 * static_cast<double>(n)));
  const int64_t add = std::max<int64_t>(0, target - n);
  if (add == 0) return 0;
  sample_add(g, adam, multinomial(host_opacities(g), add, rng_));
  return add;
}

void MCMCStrategy::relocate(Gaussians& g, AdamGroups& adam, const std::vector<int32_t>& dead,
                            const std::vector<int32_t>& sampled) const {
  check_model(g, adam, "mcmc relocate");
  VG_CHECK(dead.size() == sampled.size(), "mcmc relocate: ", dead.size(), " dead rows but ", sampled.size(),
           " sampled");
  if (dead.empty()) return;
  const int64_t n = g.size();
  std::vector<uint8_t> is_dead(static_cast<size_t>(n), 0);
  for (int32_t d : dead) {
    VG_CHECK(d >= 0 && d < n && !is_dead[d], "mcmc relocate: dead row ", d, " out of range or repeated");
    is_dead[d] = 1;
  }
  for (int32_t s : sampled)
    VG_CHECK(s >= 0 && s < n && !is_dead[s], "mcmc relocate: sampled row ", s, " out of range or dead");
  std::vector<int32_t> ids, ratios;
  ratios_of(sampled, ids, ratios);
  relocate_rows(g, ids, ratios, cfg_.min_opacity);
  const Device d = g.device();
  const Tensor dst_t = ids_tensor(dead, d), src_t = ids_tensor(sampled, d), ids_t = ids_tensor(ids, d);
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    copy_rows(g.group(i), dst_t, src_t, dead, sampled);
    for (Tensor* m : {&adam[i].exp_avg, &adam[i].exp_avg_sq})
      if (m->defined()) zero_rows(*m, ids_t, ids);
  }
}

void MCMCStrategy::sample_add(Gaussians& g, AdamGroups& adam, const std::vector<int32_t>& sampled) const {
  check_model(g, adam, "mcmc sample_add");
  if (sampled.empty()) return;
  for (int32_t s : sampled)
    VG_CHECK(s >= 0 && s < g.size(), "mcmc sample_add: sampled row ", s, " out of range [0, ", g.size(), ")");
  std::vector<int32_t> ids, ratios;
  ratios_of(sampled, ids, ratios);
  relocate_rows(g, ids, ratios, cfg_.min_opacity);
  const Tensor sel = ids_tensor(sampled, g.device());
  const int64_t m = static_cast<int64_t>(sampled.size());
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    g.group(i) = cat_rows(g.group(i), index_select_rows(g.group(i), sel));
    for (Tensor* mo : {&adam[i].exp_avg, &adam[i].exp_avg_sq}) {
      if (!mo->defined()) continue;
      Shape s = mo->shape();
      s[0] = m;
      *mo = cat_rows(*mo, Tensor::zeros(s, DType::F32, mo->device()));
    }
  }
}

void MCMCStrategy::inject_noise(Gaussians& g, float noise_scale, int step) const {
  const int64_t n = g.size();
  g.means.expect("mcmc means", {n, 3});
  g.scales.expect("mcmc scales", {n, 3});
  g.quats.expect("mcmc quats", {n, 4});
  g.opacities.expect("mcmc opacities", {n});
  float* means = g.means.data<float>();
  const float *scales = g.scales.data<float>(), *quats = g.quats.data<float>(), *opa = g.opacities.data<float>();
  if (g.device().is_cuda()) {
    detail::inject_noise_cuda(n, means, scales, quats, opa, noise_scale, noise_key_, step);
    return;
  }
  parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) detail::noise_row(i, means, scales, quats, opa, noise_scale, noise_key_, step);
  }, 1 << 13);
}

}  // namespace vg
