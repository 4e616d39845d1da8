// Incremental mapping driver (COLMAP's IncrementalPipeline::Reconstruct): initialise from the best pair,
// register the next best views with local BA after each, global refinement (retriangulation, BA,
// filtering) whenever the model has grown by the configured ratios, and further models from the images
// left when registration stalls.
#include <algorithm>
#include <set>

#include "core/error.h"
#include "sfm/mapper_state.h"

namespace vg {
namespace mapper {
namespace {

constexpr int kMaxRegTrials = 3;  // COLMAP's max_reg_trials

size_t num_observations(const Recon& r) {
  size_t n = 0;
  for (const Point& p : r.points) n += p.valid ? p.obs.size() : 0;
  return n;
}

// COLMAP's IterativeGlobalRefinement: retriangulate, BA, filter, until few observations change. While the
// model grows the next registrations and refinements polish it again, so those stop earlier (2 rounds, 1e-5
// relative cost change); the final one runs to 1e-6 (one round only while growing left a 2.9 deg outlier on fox).
void global_refinement(Recon& r, const MapperOptions& opt, bool final) {
  const int rounds = final ? 5 : 2;
  for (int it = 0; it < rounds; ++it) {
    const size_t before = num_observations(r);
    retriangulate(r, opt);
    global_bundle_adjust(r, opt, final ? 1e-6 : 1e-5);
    const int removed = filter_all_points(r, opt);
    filter_images(r, opt);
    const size_t after = num_observations(r);
    const double change = double((after > before ? after - before : before - after) + removed) / std::max<size_t>(after, 1);
    if (change < 0.0005) break;
  }
}

// Grows one model from its initial pair until no image registers.
void grow(Recon& r, Shared& sh, const MapperOptions& opt, int num_images, const std::function<void(int, int)>& progress) {
  size_t last_images = r.reg_order.size(), last_points = r.num_points();
  while (true) {
    int registered = -1;
    for (int i : next_images(r, kMaxRegTrials)) {
      ++r.reg_trials[i];  // every attempt counts, so an image filtered out again and again stops being tried
      if (register_image(r, i, opt)) {
        registered = i;
        break;
      }
    }
    if (registered < 0) break;
    local_bundle_adjust(r, registered, opt);
    if (r.reg_order.size() >= opt.ba_global_images_ratio * last_images ||
        r.num_points() >= opt.ba_global_points_ratio * last_points) {
      global_refinement(r, opt, false);
      last_images = r.reg_order.size();
      last_points = r.num_points();
    }
    if (progress) progress(static_cast<int>(r.reg_order.size()), num_images);
  }
  global_refinement(r, opt, true);
  if (opt.final_retriangulation && r.reg_order.size() >= 2) {
    retriangulate_from_scratch(r, opt);
    global_refinement(r, opt, true);
  }
}

}  // namespace
}  // namespace mapper

MapperResult incremental_mapping(const MapperInput& in, const MapperOptions& opt,
                                 const std::function<void(int, int)>& progress) {
  using namespace mapper;
  const int n = static_cast<int>(in.images.size());
  VG_CHECK(n >= 2, "mapper: need at least 2 images, got ", n);
  for (const auto& [p, tv] : in.pairs)
    VG_CHECK(p.first >= 0 && p.first < p.second && p.second < n, "mapper: bad image pair (", p.first, ", ",
             p.second, ") for ", n, " images");
  Shared sh = make_shared(in);
  MapperResult result;
  std::set<std::pair<int, int>> tried;
  MapperOptions init_opt = opt;
  for (int model = 0;; ++model) {
    Recon r = make_recon(sh, opt.seed + static_cast<uint64_t>(model));
    std::string msg;
    bool ok = initialize(r, init_opt, tried, &msg);
    if (!ok && result.models.empty() && init_opt.init_min_tri_angle_deg > 2) {
      // COLMAP relaxes the initial-pair thresholds when no pair qualifies.
      init_opt.init_min_num_inliers = std::max(init_opt.init_min_num_inliers / 2, 15);
      init_opt.init_min_tri_angle_deg /= 2;
      tried.clear();
      result.log.push_back("no initial pair; relaxing to " + std::to_string(init_opt.init_min_num_inliers) +
                           " inliers, " + std::to_string(init_opt.init_min_tri_angle_deg) + " deg");
      --model;
      continue;
    }
    if (!ok) {
      if (result.models.empty()) result.log.push_back(msg);
      break;
    }
    result.log.push_back("model " + std::to_string(model + 1) + ": " + msg);
    grow(r, sh, opt, n, progress);
    const int reg = static_cast<int>(r.reg_order.size());
    if (reg >= opt.min_model_size) {
      for (int i : r.reg_order) sh.used[i] = 1;
      result.models.push_back(to_output_model(r));
      result.log.push_back("model " + std::to_string(model + 1) + ": " + std::to_string(reg) + " images, " +
                           std::to_string(r.num_points()) + " points");
    } else {
      result.log.push_back("model " + std::to_string(model + 1) + " discarded: " + std::to_string(reg) +
                           " images < min_model_size " + std::to_string(opt.min_model_size));
    }
    if (!opt.multiple_models && !result.models.empty()) break;
    int left = 0;
    for (int i = 0; i < n; ++i) left += !sh.used[i];
    if (left < 2) break;
  }
  std::stable_sort(result.models.begin(), result.models.end(),
                   [](const ColmapModel& a, const ColmapModel& b) { return a.images.size() > b.images.size(); });
  const int best = result.models.empty() ? 0 : static_cast<int>(result.models[0].images.size());
  if (best < n)
    result.log.push_back("only " + std::to_string(best) + " of " + std::to_string(n) + " images registered" +
                         (result.models.empty() ? "" : "; largest of " + std::to_string(result.models.size()) +
                                                           " model(s) first"));
  else
    result.log.push_back("all " + std::to_string(n) + " images registered");
  return result;
}

}  // namespace vg
