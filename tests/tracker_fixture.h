// The tracker fixtures' configuration (tools/tracker_fixtures.py writes it as JSON metadata with the field names of
// TrackerConfig), shared by tracker_test.cc and the backend-op cases (tests/ops/tracker_ops.cc).
#pragma once
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "tracks/tracker.h"

namespace vg::test {

inline tracks::TrackPredictorConfig predictor_from_json(const nlohmann::json& j) {
  tracks::TrackPredictorConfig p;
  p.stride = j.at("stride");
  p.corr_levels = j.at("corr_levels");
  p.corr_radius = j.at("corr_radius");
  p.latent_dim = j.at("latent_dim");
  p.hidden_size = j.at("hidden_size");
  p.num_heads = j.at("num_heads");
  p.depth = j.at("depth");
  p.use_spaceatt = j.at("use_spaceatt");
  p.num_virtual_tracks = j.at("num_virtual_tracks");
  p.fine = j.at("fine");
  return p;
}

inline tracks::TrackerConfig tracker_config_of(const SafetensorsFile& io) {
  const auto j = nlohmann::json::parse(io.metadata().at("config"));
  tracks::TrackerConfig c;
  c.coarse_down_ratio = j.at("coarse_down_ratio");
  c.coarse_stride = j.at("coarse_stride");
  c.coarse_fnet_dim = j.at("coarse_fnet_dim");
  c.fine_fnet_dim = j.at("fine_fnet_dim");
  c.coarse = predictor_from_json(j.at("coarse"));
  c.fine = predictor_from_json(j.at("fine"));
  c.pradius = j.at("pradius");
  c.fine_iters = j.at("fine_iters");
  return c;
}

}  // namespace vg::test
