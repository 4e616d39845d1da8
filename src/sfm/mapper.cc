// Incremental mapping driver (COLMAP's IncrementalPipeline::Reconstruct): initialise from the best pair,
// register the next best views with local BA after each, global refinement (retriangulation, BA,
// filtering) whenever the model has grown by the configured ratios, and further models from the images
// left when registration stalls.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "core/error.h"
#include "geometry/camera_models.h"
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

// MapperOptions::final_principal_point_min_images: when every used camera is shared by that many registered
// images, one more final refinement with the principal points free; undone if a centre moves implausibly far.
void refine_principal_points(Recon& r, const MapperOptions& opt) {
  if (opt.final_principal_point_min_images <= 0 || opt.refine_principal_point) return;
  std::map<uint32_t, int> images_of;
  for (int i : r.reg_order) ++images_of[r.sh->in->images[static_cast<size_t>(i)].camera_id];
  for (const auto& [id, n] : images_of)
    if (n < opt.final_principal_point_min_images) return;
  // Mostly two-view points leave the centre coupled to the cameras' tilt (a 10-view ring: cy 10 px off, rotations
  // 0.25 -> 0.51 deg): only refined when the points are seen in 3 images on average.
  size_t points = 0, obs = 0;
  for (const Point& p : r.points) points += p.valid, obs += p.valid ? p.obs.size() : 0;
  if (obs < 3 * points) return;
  const Recon before = r;
  MapperOptions o = opt;
  o.refine_principal_point = true;
  global_refinement(r, o, true);
  for (const auto& [id, n] : images_of) {
    const ColmapCamera& c = r.cameras.at(id);
    const std::vector<int> pp = camera_pp_idxs(colmap_model_id(c.model));
    const double dx = c.params[pp[0]] - 0.5 * static_cast<double>(c.width);
    const double dy = c.params[pp[1]] - 0.5 * static_cast<double>(c.height);
    if (std::hypot(dx, dy) > opt.principal_point_max_offset * static_cast<double>(std::max(c.width, c.height))) {
      r = before;
      return;
    }
  }
}

// Where the registered images' track members went: observations of a point, members of a track whose point left
// them out (its outliers), members of a track without a point (VGSPLAT_MAPPER_DEBUG).
void debug_track_use(const Recon& r) {
  size_t observed = 0, outliers = 0, no_point = 0, two_view = 0;
  for (size_t t = 0; t < r.sh->tracks.size(); ++t) {
    size_t reg = 0;
    for (const TrackElement& e : r.sh->tracks[t]) reg += r.registered[e.image] ? 1 : 0;
    if (!r.points[t].valid) {
      (r.sh->tracks[t].size() == 2 ? two_view : no_point) += reg >= 2 ? reg : 0;
      continue;
    }
    observed += r.points[t].obs.size();
    outliers += reg - r.points[t].obs.size();
  }
  std::fprintf(stderr, "mapper tracks: %zu observations, %zu track members left out of their point, %zu in tracks "
               "without a point (+%zu in two-view tracks)\n", observed, outliers, no_point, two_view);
}

// COLMAP creates a 3D point from the correspondences of one feature, so the features of one union-find track may
// end in several points; here a track has one point, and the registered members that do not fit it (its
// outliers: often a second surface point joined by a wrong or ambiguous match) would be lost. They become a
// track of their own and are triangulated from the current cameras (MapperOptions::split_tracks).
int split_tracks(Recon& r, Shared& sh, const MapperOptions& opt) {
  const size_t n_tracks = sh.tracks.size();
  int made = 0;
  for (size_t t = 0; t < n_tracks; ++t) {
    if (!r.points[t].valid) continue;
    Track keep, rest;
    for (const TrackElement& e : sh.tracks[t])
      (r.registered[e.image] && !r.observed[e.image][e.point2d] ? rest : keep).push_back(e);
    if (rest.size() < 2) continue;
    sh.tracks[t] = std::move(keep);
    const int id = static_cast<int>(sh.tracks.size());
    for (const TrackElement& e : rest) sh.track_of[e.image][e.point2d] = id;
    sh.tracks.push_back(std::move(rest));
    r.points.emplace_back();
    made += triangulate_track(r, id, opt) ? 1 : 0;
  }
  return made;
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
  if (opt.split_tracks) split_tracks(r, sh, opt);
  global_refinement(r, opt, true);
  if (opt.final_retriangulation && r.reg_order.size() >= 2) {
    retriangulate_from_scratch(r, opt);
    global_refinement(r, opt, true);
  }
  refine_principal_points(r, opt);
  if (std::getenv("VGSPLAT_MAPPER_DEBUG")) debug_track_use(r);
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
  // COLMAP discards a model of fewer than min(images, 10) registered images and frees them, so a later initial
  // pair can grow through them (a ring of few wide-baseline views often stalls from its first pair). Such models
  // are kept aside here and used only if no model reaches that size: never nothing when something was found.
  const int keep_size = std::max(opt.min_model_size, std::min(n, opt.keep_model_size));
  std::vector<ColmapModel> small;
  for (int model = 0;; ++model) {
    Recon r = make_recon(sh, opt.seed + static_cast<uint64_t>(model));
    std::string msg;
    bool ok = initialize(r, init_opt, tried, &msg);
    if (!ok && result.models.empty() && small.empty() && init_opt.init_min_tri_angle_deg > 2) {
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
      if (result.models.empty() && small.empty()) result.log.push_back(msg);
      break;
    }
    result.log.push_back("model " + std::to_string(model + 1) + ": " + msg);
    grow(r, sh, opt, n, progress);
    const int reg = static_cast<int>(r.reg_order.size());
    const std::string what = "model " + std::to_string(model + 1) + ": " + std::to_string(reg) + " images, " +
                             std::to_string(r.num_points()) + " points";
    if (reg >= keep_size) {
      for (int i : r.reg_order) sh.used[i] = 1;
      result.models.push_back(to_output_model(r));
      result.log.push_back(what);
    } else if (reg >= opt.min_model_size) {
      small.push_back(to_output_model(r));
      result.log.push_back(what + ", set aside (< " + std::to_string(keep_size) + "): its images stay free");
    } else {
      result.log.push_back("model " + std::to_string(model + 1) + " discarded: " + std::to_string(reg) +
                           " images < min_model_size " + std::to_string(opt.min_model_size));
    }
    if (!opt.multiple_models && !result.models.empty()) break;
    int left = 0;
    for (int i = 0; i < n; ++i) left += !sh.used[i];
    if (left < 2) break;
  }
  if (result.models.empty() && !small.empty()) {
    // Nothing reached keep_size: the largest models set aside whose images do not overlap.
    std::stable_sort(small.begin(), small.end(),
                     [](const ColmapModel& a, const ColmapModel& b) { return a.images.size() > b.images.size(); });
    std::set<std::string> taken;
    for (ColmapModel& m : small) {
      bool overlap = false;
      for (const auto& [id, im] : m.images) overlap |= taken.count(im.name) > 0;
      if (overlap || (!opt.multiple_models && !result.models.empty())) continue;
      for (const auto& [id, im] : m.images) taken.insert(im.name);
      result.models.push_back(std::move(m));
    }
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
