// VggsfmTracker: configuration, the published state dict's layout, loading, and TrackerPredictor.forward
// (vggt/dependency/vggsfm_tracker.py) put together from the encoders, the predictor and refine_track.
#include "tracks/tracker.h"

#include <string>

#include "core/parallel.h"
#include "tracks/tracker_internal.h"
#include "vggt/cpu_ops.h"

namespace vg::tracks {
namespace {

void add_linear(ParamList& p, const std::string& pre, int64_t out, int64_t in) { add_linear_params(p, pre, out, in); }

// modules.py::ResidualBlock (instance norm: no norm parameters).
void add_residual_block(ParamList& p, const std::string& pre, int64_t in, int64_t out, int stride) {
  add_conv_params(p, pre + ".conv1", out, in, 3);
  add_conv_params(p, pre + ".conv2", out, out, 3);
  if (stride != 1) add_conv_params(p, pre + ".downsample.0", out, in, 1);
}

void add_basic_encoder(ParamList& p, const std::string& pre, int64_t D) {
  add_conv_params(p, pre + ".conv1", D / 2, 3, 7);
  const int64_t dims[4] = {D / 2, D / 4 * 3, D, D};
  const int strides[4] = {1, 2, 2, 2};
  int64_t in = D / 2;
  for (int l = 0; l < 4; ++l) {
    const std::string layer = pre + ".layer" + std::to_string(l + 1);
    add_residual_block(p, layer + ".0", in, dims[l], strides[l]);
    add_residual_block(p, layer + ".1", dims[l], dims[l], 1);
    in = dims[l];
  }
  add_conv_params(p, pre + ".conv2", 2 * D, 3 * D + D / 4, 3);
  add_conv_params(p, pre + ".conv3", D, 2 * D, 1);
}

void add_shallow_encoder(ParamList& p, const std::string& pre, int64_t D) {
  add_conv_params(p, pre + ".conv1", D, 3, 3);
  add_residual_block(p, pre + ".layer1", D, D, 2);
  add_residual_block(p, pre + ".layer2", D, D, 2);
  add_conv_params(p, pre + ".conv2", D, D, 1);
}

void add_attention_block(ParamList& p, const std::string& pre, const std::string& attn, int64_t h, bool cross) {
  if (cross) add_norm_params(p, pre + ".norm_context", h);
  p.push_back({pre + "." + attn + ".in_proj_weight", {3 * h, h}});
  p.push_back({pre + "." + attn + ".in_proj_bias", {3 * h}});
  add_linear(p, pre + "." + attn + ".out_proj", h, h);
  add_linear(p, pre + ".mlp.fc1", 4 * h, h);  // mlp_ratio 4
  add_linear(p, pre + ".mlp.fc2", h, 4 * h);
}

void add_predictor(ParamList& p, const std::string& pre, const TrackPredictorConfig& c) {
  const std::string uf = pre + ".updateformer";
  const int64_t h = c.hidden_size;
  add_linear(p, uf + ".input_transform", h, c.transformer_dim());
  add_linear(p, uf + ".flow_head", c.latent_dim + 2, h);
  if (c.use_spaceatt) p.push_back({uf + ".virual_tracks", {1, c.num_virtual_tracks, 1, h}});
  for (int i = 0; i < c.depth; ++i) add_attention_block(p, uf + ".time_blocks." + std::to_string(i), "attn", h, false);
  if (c.use_spaceatt)
    for (int i = 0; i < c.depth; ++i) {
      const std::string is = "." + std::to_string(i);
      add_attention_block(p, uf + ".space_virtual_blocks" + is, "attn", h, false);
      add_attention_block(p, uf + ".space_point2virtual_blocks" + is, "cross_attn", h, true);
      add_attention_block(p, uf + ".space_virtual2point_blocks" + is, "cross_attn", h, true);
    }
  add_norm_params(p, pre + ".norm", c.latent_dim);
  add_linear(p, pre + ".ffeat_updater.0", c.latent_dim, c.latent_dim);
  if (!c.fine) add_linear(p, pre + ".vis_predictor.0", 1, c.latent_dim);
}

void validate_predictor(const TrackPredictorConfig& c, const char* which) {
  VG_CHECK(c.stride >= 1 && c.corr_levels >= 1 && c.corr_radius >= 0 && c.depth >= 1 && c.num_heads >= 1, "tracker ",
           which, " predictor: bad sizes");
  VG_CHECK(c.latent_dim % 4 == 0, "tracker ", which, " predictor: latent_dim ", c.latent_dim,
           " must be a multiple of 4 (its flow embedding is sin/cos pairs of x and y)");
  VG_CHECK(c.hidden_size % c.num_heads == 0, "tracker ", which, " predictor: hidden_size ", c.hidden_size,
           " does not split into ", c.num_heads, " heads");
  const int64_t td = c.transformer_dim(), r = c.corr_radius;
  const int64_t width = c.corr_levels * (2 * r + 1) * (2 * r + 1) + 2 * c.latent_dim + 2;
  VG_CHECK(td % 4 == 0 && width <= td, "tracker ", which, " predictor: transformer input ", width,
           " channels does not fit the padded width ", td, " (the official module fails the same way)");
  VG_CHECK(!c.use_spaceatt || c.num_virtual_tracks >= 1, "tracker ", which, " predictor: no virtual tracks");
}

void check_images(const Tensor& images, const char* what) {
  VG_CHECK(images.ndim() == 4 && images.size(1) == 3 && images.dtype() == DType::F32 && !images.is_cuda(), what,
           ": expected F32 CPU images [S,3,H,W] in [0,1], got ", shape_str(images.shape()));
}

Tensor frame(const Tensor& t, int64_t s) {  // t[s] as its own tensor (a copy)
  Shape sh(t.shape().begin() + 1, t.shape().end());
  Tensor out = Tensor::empty(sh);
  std::copy(t.data<float>() + s * out.numel(), t.data<float>() + (s + 1) * out.numel(), out.data<float>());
  return out;
}

}  // namespace

int64_t TrackPredictorConfig::transformer_dim() const {
  int64_t td = corr_levels * (2 * corr_radius + 1) * (2 * corr_radius + 1) + 2 * latent_dim;
  if (fine) return td + (td % 2 == 0 ? 4 : 5);  // base_track_predictor.py keeps this "old dummy" padding
  return td + (4 - td % 4) % 4;
}

void TrackerConfig::validate() const {
  validate_predictor(coarse, "coarse");
  validate_predictor(fine, "fine");
  VG_CHECK(coarse_fnet_dim == coarse.latent_dim && fine_fnet_dim == fine.latent_dim,
           "tracker config: the encoders' output channels (", coarse_fnet_dim, ", ", fine_fnet_dim,
           ") must equal the predictors' latent_dim (", coarse.latent_dim, ", ", fine.latent_dim, ")");
  VG_CHECK(coarse_fnet_dim % 4 == 0 && coarse_down_ratio >= 1 && coarse_stride >= 1 && pradius >= 1 &&
               fine_iters >= 1 && fine.stride == 1,
           "tracker config: bad encoder sizes");
}

ParamList tracker_params(const TrackerConfig& cfg) {
  ParamList p;
  add_basic_encoder(p, "coarse_fnet", cfg.coarse_fnet_dim);
  add_predictor(p, "coarse_predictor", cfg.coarse);
  add_shallow_encoder(p, "fine_fnet", cfg.fine_fnet_dim);
  add_predictor(p, "fine_predictor", cfg.fine);
  return p;
}

VggsfmTracker::VggsfmTracker(StateDict weights, const TrackerConfig& cfg) : w_(std::move(weights)), cfg_(cfg) {
  cfg_.validate();
}

VggsfmTracker VggsfmTracker::load(const std::filesystem::path& file, const TrackerConfig& cfg) {
  cfg.validate();
  StateDictCheck check{"VGGSfM v2 tracker",
                       std::string("the published ") + kTrackerFile +
                           " is at https://huggingface.co/facebook/VGGSfM/resolve/main/vggsfm_v2_tracker.pt",
                       {},
                       {}};
  return VggsfmTracker(load_state_dict(file, tracker_params(cfg), check), cfg);
}

Tensor VggsfmTracker::coarse_fmaps(const Tensor& images) const {
  check_images(images, "VggsfmTracker::coarse_fmaps");
  const int64_t S = images.size(0), H = images.size(2), W = images.size(3), r = cfg_.coarse_down_ratio;
  std::vector<Tensor> maps(S);
  for (int64_t s = 0; s < S; ++s) {
    Tensor img = frame(images, s);
    // F.interpolate(scale_factor=1/r, bilinear, align_corners=True): size floor(H / r)
    if (r > 1) img = vggt::ops::interpolate_bilinear(img, H / r, W / r, true);
    maps[s] = detail::basic_encoder(w_, "coarse_fnet", img, cfg_.coarse_stride);
  }
  Shape sh = maps[0].shape();
  sh.insert(sh.begin(), S);
  Tensor out = Tensor::empty(sh);
  for (int64_t s = 0; s < S; ++s)
    std::copy(maps[s].data<float>(), maps[s].data<float>() + maps[s].numel(), out.data<float>() + s * maps[s].numel());
  return out;
}

VggsfmTracker::CoarseResult VggsfmTracker::coarse_track(const Tensor& fmaps, const Tensor& query_points,
                                                        int iters) const {
  VG_CHECK(fmaps.ndim() == 4 && fmaps.dtype() == DType::F32 && !fmaps.is_cuda(),
           "VggsfmTracker: expected F32 CPU feature maps [S,C,h,w], got ", shape_str(fmaps.shape()));
  VG_CHECK(query_points.ndim() == 2 && query_points.size(1) == 2 && query_points.dtype() == DType::F32 &&
               !query_points.is_cuda(),
           "VggsfmTracker: expected F32 CPU query points [N,2], got ", shape_str(query_points.shape()));
  VG_CHECK(iters >= 1, "VggsfmTracker: coarse_iters must be >= 1");
  detail::PredictorOutput o =
      detail::track_predictor(w_, "coarse_predictor", cfg_.coarse, fmaps, query_points, iters, cfg_.coarse_down_ratio);
  return {std::move(o.coords), o.vis};
}

Tensor VggsfmTracker::fine_features(const Tensor& patch) const {
  return detail::shallow_encoder(w_, "fine_fnet", patch, cfg_.fine.stride);
}

VggsfmTracker::Result VggsfmTracker::track(const Tensor& images, const Tensor& fmaps, const Tensor& query_points,
                                           bool fine_tracking, int coarse_iters, int64_t fine_chunk) const {
  check_images(images, "VggsfmTracker::track");
  VG_CHECK(fmaps.ndim() == 4 && fmaps.size(0) == images.size(0), "VggsfmTracker::track: feature maps ",
           shape_str(fmaps.shape()), " do not belong to ", images.size(0), " images");
  VG_CHECK(fine_chunk != 0, "VggsfmTracker::track: fine_chunk must be non-zero");
  CoarseResult c = coarse_track(fmaps, query_points, coarse_iters);
  Result r;
  r.vis = c.vis;
  r.tracks = fine_tracking ? refine(images, c.iters.back()) : c.iters.back();
  return r;
}

}  // namespace vg::tracks
