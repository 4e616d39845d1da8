// CudaVggsfmTracker: weight upload, the encoders (track_modules/blocks.py BasicEncoder / ShallowEncoder,
// modules.py ResidualBlock) on batched NHWC maps, the coarse predictor and refine_track's fine stage. Mirrors
// tracker.cc, tracker_encoders.cc and tracker_refine.cc step by step (see those for the official references).
#include "tracks/cuda_tracker.h"

#include <algorithm>
#include <utility>

#include "core/cuda_memory.h"
#include "core/error.h"
#include "tracks/cuda_predictor.h"
#include "tracks/cuda_tracker_kernels.h"

namespace vg::tracks {

namespace {

constexpr int64_t kEncoderPixels = int64_t{8} << 18;  // down-scaled pixels per coarse-encoder batch (8 x 512^2)
constexpr int64_t kFinePatches = 16384;               // fine patches (tracks x frames) per refine chunk

bool starts_with(const std::string& s, const std::string& t) { return s.compare(0, t.size(), t) == 0; }
bool ends_with(const std::string& s, const std::string& t) {
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

// t on device d (a copy when it is elsewhere).
Tensor on(const Tensor& t, Device d) { return t.device() == d ? t : t.to(d); }

// Frames s0 .. s0+n-1 of t [S, ...] (device) as their own tensor (t itself when that is all of it).
Tensor frames(const Tensor& t, int64_t s0, int64_t n) {
  if (s0 == 0 && n == t.size(0)) return t;
  Shape sh = t.shape();
  sh[0] = n;
  Tensor out = Tensor::empty(sh, t.dtype(), t.device());
  const size_t per = t.nbytes() / static_cast<size_t>(t.size(0));
  cuda_copy(out.raw(), out.device(), static_cast<const char*>(t.raw()) + static_cast<size_t>(s0) * per, t.device(),
            static_cast<size_t>(n) * per);
  return out;
}

void check_images(const Tensor& images, const char* what) {
  VG_CHECK(images.defined() && images.ndim() == 4 && images.size(1) == 3 && images.dtype() == DType::F32, what,
           ": expected F32 images [S,3,H,W] in [0,1], got ", images.defined() ? shape_str(images.shape()) : "nothing");
}

}  // namespace

CudaVggsfmTracker::CudaVggsfmTracker(const VggsfmTracker& cpu, Device d, vggt::cuda::Precision p)
    : cfg_(cpu.config()), device_(d), precision_(p) {
  VG_CHECK(d.is_cuda(), "CudaVggsfmTracker needs a CUDA device, got ", d.str());
  set_current_device(d);
  const StateDict& w = cpu.weights();
  for (const auto& [name, t] : w.tensors) {
    if (!(starts_with(name, "coarse_fnet.") || starts_with(name, "fine_fnet.")) || !ends_with(name, ".weight") ||
        t.ndim() != 4)
      continue;
    const std::string base = name.substr(0, name.size() - 7);  // "....weight" -> "..."
    convs_[base] = cuda::Conv::upload(t, w.has(base + ".bias") ? w.at(base + ".bias") : Tensor(), d, p);
  }
  coarse_ = std::make_shared<const cuda::CudaTrackPredictor>(w, "coarse_predictor", cfg_.coarse, d, p);
  fine_ = std::make_shared<const cuda::CudaTrackPredictor>(w, "fine_predictor", cfg_.fine, d, p);
}

const cuda::Conv& CudaVggsfmTracker::conv(const std::string& name) const {
  auto it = convs_.find(name);
  VG_CHECK(it != convs_.end(), "CudaVggsfmTracker: no conv ", name, " in the tracker weights");
  return it->second;
}

// ResidualBlock(norm_fn="instance"): relu(x' + relu(in(conv2(relu(in(conv1(x))))))), x' = in(conv1x1(x)) when
// strided.
Tensor CudaVggsfmTracker::residual_block(const std::string& pre, const Tensor& x, int stride) const {
  Tensor y = cuda::conv2d(x, conv(pre + ".conv1"), stride, 1);
  cuda::instance_norm_relu_(y);
  y = cuda::conv2d(y, conv(pre + ".conv2"), 1, 1);
  cuda::instance_norm_relu_(y);
  if (stride != 1) {
    Tensor skip = cuda::conv2d(x, conv(pre + ".downsample.0"), stride, 0);
    cuda::instance_norm_(skip);
    cuda::add_(y, skip);
  } else {
    cuda::add_(y, x);
  }
  cuda::relu_(y);
  return y;
}

Tensor CudaVggsfmTracker::basic_encoder(const Tensor& x) const {
  const std::string pre = "coarse_fnet";
  const int64_t H = x.size(1), W = x.size(2), stride = cfg_.coarse_stride;
  Tensor y = cuda::conv2d(x, conv(pre + ".conv1"), 2, 3);
  cuda::instance_norm_relu_(y);
  std::vector<Tensor> levels;
  const int strides[4] = {1, 2, 2, 2};
  for (int l = 0; l < 4; ++l) {
    const std::string layer = pre + ".layer" + std::to_string(l + 1);
    y = residual_block(layer + ".0", y, strides[l]);
    y = residual_block(layer + ".1", y, 1);
    levels.push_back(y);
  }
  for (Tensor& t : levels) t = cuda::bilinear(t, H / stride, W / stride, true);
  Tensor z = cuda::conv2d(cuda::concat_channels(levels), conv(pre + ".conv2"), 1, 1);
  levels.clear();
  cuda::instance_norm_relu_(z);
  return cuda::conv2d(z, conv(pre + ".conv3"), 1, 0);
}

Tensor CudaVggsfmTracker::shallow_encoder(const Tensor& x) const {
  const std::string pre = "fine_fnet";
  const int64_t H = x.size(1), W = x.size(2), stride = cfg_.fine.stride;
  Tensor y = cuda::conv2d(x, conv(pre + ".conv1"), 2, 1);
  cuda::instance_norm_relu_(y);
  Tensor tmp = residual_block(pre + ".layer1", y, 2);
  cuda::add_(y, cuda::bilinear(tmp, y.size(1), y.size(2), true));
  tmp = residual_block(pre + ".layer2", tmp, 2);
  cuda::add_(y, cuda::bilinear(tmp, y.size(1), y.size(2), true));
  Tensor z = cuda::conv2d(y, conv(pre + ".conv2"), 1, 0);
  cuda::add_(z, y);
  return cuda::bilinear(z, H / stride, W / stride, true);
}

Tensor CudaVggsfmTracker::coarse_fmaps(const Tensor& images) const {
  check_images(images, "CudaVggsfmTracker::coarse_fmaps");
  set_current_device(device_);
  const int64_t S = images.size(0), H = images.size(2), W = images.size(3), r = cfg_.coarse_down_ratio;
  const int64_t Hd = H / r, Wd = W / r;  // F.interpolate(scale_factor=1/r, align_corners=True): floor(H / r)
  VG_CHECK(Hd >= 16 && Wd >= 16, "the tracker's coarse encoder: image ", Wd, "x", Hd,
           " is too small (at least 16x16 pixels)");  // four stride-2 stages
  const Tensor img = on(images, device_);
  auto encode = [&](const Tensor& nchw) {
    Tensor x = cuda::nchw_to_nhwc(nchw);
    if (r > 1) x = cuda::bilinear(x, Hd, Wd, true);
    return basic_encoder(x);
  };
  const int64_t group = std::max<int64_t>(1, kEncoderPixels / (Hd * Wd));
  if (group >= S) return encode(img);
  Tensor out;
  for (int64_t s0 = 0; s0 < S; s0 += group) {
    const int64_t n = std::min(group, S - s0);
    const Tensor f = encode(frames(img, s0, n));
    if (!out.defined()) out = Tensor::empty({S, f.size(1), f.size(2), f.size(3)}, DType::F32, device_);
    cuda_copy(out.data<float>() + s0 * (f.numel() / n), device_, f.raw(), device_, f.nbytes());
  }
  return out;
}

Tensor CudaVggsfmTracker::device_fmaps(const Tensor& fmaps) const {
  VG_CHECK(fmaps.defined() && fmaps.ndim() == 4 && fmaps.dtype() == DType::F32,
           "CudaVggsfmTracker: expected F32 feature maps (device [S,h,w,C] or CPU [S,C,h,w]), got ",
           fmaps.defined() ? shape_str(fmaps.shape()) : "nothing");
  Tensor f = fmaps.is_cuda() ? on(fmaps, device_) : cuda::nchw_to_nhwc(fmaps.to(device_));
  VG_CHECK(f.size(3) == cfg_.coarse.latent_dim, "CudaVggsfmTracker: feature maps of ", f.size(3),
           " channels, the coarse predictor expects ", cfg_.coarse.latent_dim);
  return f;
}

VggsfmTracker::CoarseResult CudaVggsfmTracker::coarse_track(const Tensor& fmaps, const Tensor& query_points,
                                                            int iters) const {
  VG_CHECK(query_points.defined() && query_points.ndim() == 2 && query_points.size(1) == 2 &&
               query_points.dtype() == DType::F32,
           "CudaVggsfmTracker: expected F32 query points [N,2], got ",
           query_points.defined() ? shape_str(query_points.shape()) : "nothing");
  VG_CHECK(iters >= 1, "CudaVggsfmTracker: coarse_iters must be >= 1");
  set_current_device(device_);
  const Tensor f = device_fmaps(fmaps);
  const int64_t S = f.size(0), N = query_points.size(0);
  cuda::CudaTrackPredictor::Result o = coarse_->forward(f.reshape({1, S, f.size(1), f.size(2), f.size(3)}),
                                                        query_points.reshape({1, N, 2}), iters, cfg_.coarse_down_ratio);
  VggsfmTracker::CoarseResult r;
  for (const Tensor& c : o.coords) r.iters.push_back(c.reshape({S, N, 2}));
  r.vis = o.vis.reshape({S, N});
  return r;
}

Tensor CudaVggsfmTracker::refine(const Tensor& images, const Tensor& coarse) const {
  check_images(images, "CudaVggsfmTracker::refine");
  const int64_t S = images.size(0), H = images.size(2), W = images.size(3);
  VG_CHECK(coarse.defined() && coarse.ndim() == 3 && coarse.size(0) == S && coarse.size(2) == 2 &&
               coarse.dtype() == DType::F32,
           "CudaVggsfmTracker::refine: expected coarse tracks [", S, ",N,2], got ",
           coarse.defined() ? shape_str(coarse.shape()) : "nothing");
  const int64_t N = coarse.size(1), pr = cfg_.pradius, P = 2 * pr + 1, C = cfg_.fine_fnet_dim;
  // refine_track clamps both patch corners with H (its own note: it assumes H == W).
  VG_CHECK(H == W, "fine tracking needs square images (refine_track clamps patch corners with the height), got ", W,
           "x", H, "; pad or crop to a square, or track without fine tracking");
  VG_CHECK(H >= P, "fine tracking needs images of at least ", P, "x", P, " pixels, got ", W, "x", H);
  set_current_device(device_);
  const Tensor img = on(images, device_), cd = on(coarse, device_);
  Tensor out = Tensor::empty({S, N, 2}, DType::F32, device_);
  const int64_t chunk = std::max<int64_t>(1, kFinePatches / S);
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t nc = std::min(chunk, N - n0);
    Tensor patches = Tensor::empty({nc * S, P, P, 3}, DType::F32, device_);
    cuda::detail::extract_patches(img.data<float>(), S, H, W, cd.data<float>(), N, n0, nc, static_cast<int>(pr),
                                  patches.data<float>());
    Tensor f = shallow_encoder(patches);
    patches = Tensor();
    VG_CHECK(f.size(1) == P && f.size(2) == P && f.size(3) == C, "CudaVggsfmTracker: fine features ",
             shape_str(f.shape()), " are not ", P, "x", P, "x", C);
    Tensor q = Tensor::empty({nc, 1, 2}, DType::F32, device_);
    cuda::detail::fine_queries(cd.data<float>(), N, n0, nc, static_cast<int>(pr), q.data<float>());
    const cuda::CudaTrackPredictor::Result o = fine_->forward(f.reshape({nc, S, P, P, C}), q, cfg_.fine_iters, 1);
    const Tensor& last = o.coords.back();  // [nc, S, 1, 2], relative to the unclamped patch corners
    VG_CHECK(last.numel() == nc * S * 2, "CudaVggsfmTracker: fine predictor gave ", shape_str(last.shape()));
    cuda::detail::fine_tracks(cd.data<float>(), last.data<float>(), S, N, n0, nc, static_cast<int>(pr),
                              out.data<float>());
  }
  return out;
}

VggsfmTracker::Result CudaVggsfmTracker::track(const Tensor& images, const Tensor& fmaps, const Tensor& query_points,
                                               bool fine, int coarse_iters) const {
  check_images(images, "CudaVggsfmTracker::track");
  VG_CHECK(fmaps.defined() && fmaps.ndim() == 4 && fmaps.size(0) == images.size(0),
           "CudaVggsfmTracker::track: feature maps ", fmaps.defined() ? shape_str(fmaps.shape()) : "nothing",
           " do not belong to ", images.size(0), " images");
  VggsfmTracker::CoarseResult c = coarse_track(fmaps, query_points, coarse_iters);
  VggsfmTracker::Result r;
  r.vis = c.vis;
  r.tracks = fine ? refine(images, c.iters.back()) : c.iters.back();
  return r;
}

}  // namespace vg::tracks
