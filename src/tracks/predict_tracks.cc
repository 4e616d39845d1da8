#include "tracks/predict_tracks.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"
#include "core/tensor_ops.h"

namespace vg::tracks {

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void add_seconds(std::vector<std::pair<std::string, double>>& s, const std::string& k, double v) {
  for (auto& [name, sec] : s)
    if (name == k) {
      sec += v;
      return;
    }
  s.emplace_back(k, v);
}

// One query round's result, host side.
struct Round {
  int frame = 0;
  int64_t n = 0;
  std::vector<float> tracks;  // [S][n][2]
  std::vector<float> vis;     // [S][n]
  std::vector<float> conf, xyz;
  std::vector<uint8_t> rgb;
};

Tensor rows(const Tensor& t, const std::vector<int64_t>& order) {
  std::vector<int32_t> ids(order.begin(), order.end());
  return index_select_rows(t, Tensor::from_vector(ids, {static_cast<int64_t>(ids.size())}, t.device()));
}

// Query points of one frame: every extractor's keypoints, concatenated in extractor order.
std::vector<float> extract_all(const Tensor& image, const std::vector<std::function<Keypoints(const Tensor&)>>& ex) {
  std::vector<float> xy;
  for (const auto& f : ex) {
    const Keypoints k = f(image);
    if (!k.xy.defined() || k.xy.numel() == 0) continue;
    VG_CHECK(k.xy.ndim() == 2 && k.xy.size(1) == 2, "keypoint extractor returned ", shape_str(k.xy.shape()));
    const std::vector<float> v = k.xy.to_vector<float>();
    xy.insert(xy.end(), v.begin(), v.end());
  }
  return xy;
}

class Predictor {
 public:
  Predictor(const Tensor& images, const Tensor& conf, const Tensor& points, const TrackModels& m,
            const PredictTracksOptions& opt, PredictedTracks& out)
      : images_(images), m_(m), opt_(opt), out_(out), rng_(opt.seed) {
    S_ = images.size(0);
    H_ = images.size(2);
    W_ = images.size(3);
    host_images_ = images.is_cuda() ? images.to(Device::cpu()) : images;
    if (conf.defined()) {
      conf_host_ = conf.to_vector<float>();
      ch_ = conf.size(1);
      cw_ = conf.size(2);
      if (points.defined()) points_host_ = points.to_vector<float>();
    }
  }

  void set_fmaps(Tensor f) { fmaps_ = std::move(f); }

  // _forward_on_query; returns false when the frame gave no query points.
  bool forward_on_query(int q, const std::vector<std::function<Keypoints(const Tensor&)>>& extractors) {
    auto t0 = std::chrono::steady_clock::now();
    const Tensor image = host_images_.reshape({S_, 3 * H_ * W_});
    Tensor frame = Tensor::empty({3, H_, W_});
    std::copy_n(image.data<float>() + q * 3 * H_ * W_, 3 * H_ * W_, frame.data<float>());
    if (images_.is_cuda()) frame = frame.to(images_.device());
    std::vector<float> xy = extract_all(frame, extractors);
    int64_t n = static_cast<int64_t>(xy.size() / 2);
    add_seconds(out_.seconds, "keypoints", since(t0));
    out_.keypoints_per_round.push_back(static_cast<int>(n));
    if (n == 0) {
      out_.notes.push_back("query frame " + std::to_string(q) + " has no keypoints: no tracks from it");
      return false;
    }
    if (opt_.shuffle) shuffle_points(xy);
    Round r;
    r.frame = q;
    colors_at(q, xy, r.rgb);
    if (!conf_host_.empty()) depth_at(q, xy, r);
    n = static_cast<int64_t>(xy.size() / 2);
    r.n = n;
    track_round(q, xy, r);
    rounds_.push_back(std::move(r));
    out_.query_frames.push_back(q);
    return true;
  }

  std::vector<int> frames_below_min_vis() const {
    std::vector<int64_t> count(S_, 0);
    for (const Round& r : rounds_)
      for (int64_t s = 0; s < S_; ++s)
        for (int64_t i = 0; i < r.n; ++i) count[s] += r.vis[s * r.n + i] > opt_.non_vis_thresh;
    std::vector<int> frames;
    for (int64_t s = 0; s < S_; ++s)
      if (count[s] < opt_.min_vis) frames.push_back(static_cast<int>(s));
    return frames;
  }

  void finish() {
    int64_t N = 0;
    for (const Round& r : rounds_) N += r.n;
    out_.tracks = Tensor::empty({S_, N, 2});
    out_.vis = Tensor::empty({S_, N});
    float* T = out_.tracks.data<float>();
    float* V = out_.vis.data<float>();
    int64_t off = 0;
    for (const Round& r : rounds_) {
      for (int64_t s = 0; s < S_; ++s) {
        std::copy_n(r.tracks.data() + s * r.n * 2, r.n * 2, T + (s * N + off) * 2);
        std::copy_n(r.vis.data() + s * r.n, r.n, V + s * N + off);
      }
      out_.conf.insert(out_.conf.end(), r.conf.begin(), r.conf.end());
      out_.xyz.insert(out_.xyz.end(), r.xyz.begin(), r.xyz.end());
      out_.rgb.insert(out_.rgb.end(), r.rgb.begin(), r.rgb.end());
      out_.track_query_frame.insert(out_.track_query_frame.end(), r.n, r.frame);
      off += r.n;
    }
  }

 private:
  // query_points[:, torch.randperm(n)]: a seeded permutation here.
  void shuffle_points(std::vector<float>& xy) {
    const size_t n = xy.size() / 2;
    std::vector<size_t> perm(n);
    std::iota(perm.begin(), perm.end(), size_t{0});
    std::shuffle(perm.begin(), perm.end(), rng_);
    std::vector<float> out(xy.size());
    for (size_t i = 0; i < n; ++i) {
      out[2 * i] = xy[2 * perm[i]];
      out[2 * i + 1] = xy[2 * perm[i] + 1];
    }
    xy.swap(out);
  }

  // images[q][:, round(y), round(x)] * 255 -> uint8 (truncation, as numpy's astype); rounding half to even.
  void colors_at(int q, const std::vector<float>& xy, std::vector<uint8_t>& rgb) const {
    const float* img = host_images_.data<float>() + static_cast<int64_t>(q) * 3 * H_ * W_;
    const size_t n = xy.size() / 2;
    rgb.resize(3 * n);
    for (size_t i = 0; i < n; ++i) {
      const int64_t x = std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(xy[2 * i])), 0, W_ - 1);
      const int64_t y = std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(xy[2 * i + 1])), 0, H_ - 1);
      for (int c = 0; c < 3; ++c)
        rgb[3 * i + c] = static_cast<uint8_t>(std::clamp(img[(c * H_ + y) * W_ + x] * 255.f, 0.f, 255.f));
    }
  }

  // VGGT confidence and point at round(xy * h / H); points under min_conf dropped when > min_conf_keep remain.
  void depth_at(int q, std::vector<float>& xy, Round& r) const {
    const float scale = static_cast<float>(cw_) / static_cast<float>(W_);
    const size_t n = xy.size() / 2;
    std::vector<float> conf(n), pts(points_host_.empty() ? 0 : 3 * n);
    for (size_t i = 0; i < n; ++i) {
      const int64_t x = std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(xy[2 * i] * scale)), 0, cw_ - 1);
      const int64_t y = std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(xy[2 * i + 1] * scale)), 0, ch_ - 1);
      const int64_t at = (static_cast<int64_t>(q) * ch_ + y) * cw_ + x;
      conf[i] = conf_host_[at];
      if (!pts.empty())
        for (int c = 0; c < 3; ++c) pts[3 * i + c] = points_host_[at * 3 + c];
    }
    size_t keep = 0;
    for (float c : conf) keep += c > opt_.min_conf;
    if (static_cast<int64_t>(keep) > opt_.min_conf_keep) {
      std::vector<float> xy2, conf2, pts2;
      std::vector<uint8_t> rgb2;
      for (size_t i = 0; i < n; ++i) {
        if (!(conf[i] > opt_.min_conf)) continue;
        xy2.insert(xy2.end(), {xy[2 * i], xy[2 * i + 1]});
        conf2.push_back(conf[i]);
        if (!pts.empty()) pts2.insert(pts2.end(), pts.begin() + 3 * i, pts.begin() + 3 * i + 3);
        rgb2.insert(rgb2.end(), r.rgb.begin() + 3 * i, r.rgb.begin() + 3 * i + 3);
      }
      xy.swap(xy2);
      conf.swap(conf2);
      pts.swap(pts2);
      r.rgb.swap(rgb2);
    }
    r.conf = std::move(conf);
    r.xyz = std::move(pts);
  }

  // The tracker on the query-first order, chunked as predict_tracks_in_chunks, then the order restored.
  void track_round(int q, const std::vector<float>& xy, Round& r) {
    auto t0 = std::chrono::steady_clock::now();
    const int64_t n = r.n;
    const std::vector<int64_t> order = query_first_order(q, S_);
    const Tensor imgs = rows(images_, order), fm = rows(fmaps_, order);
    std::vector<int64_t> sizes = {n};
    if (S_ * n > opt_.max_points_num) sizes = chunk_sizes(n, (S_ * n + opt_.max_points_num - 1) / opt_.max_points_num);
    r.tracks.assign(S_ * n * 2, 0.f);
    r.vis.assign(S_ * n, 0.f);
    int64_t off = 0;
    for (int64_t len : sizes) {
      std::vector<float> part(xy.begin() + 2 * off, xy.begin() + 2 * (off + len));
      const TrackChunk c = m_.track(imgs, fm, Tensor::from_vector(part, {len, 2}, images_.device()));
      VG_CHECK(c.tracks.defined() && c.tracks.numel() == S_ * len * 2 && c.vis.numel() == S_ * len,
               "tracker returned tracks ", shape_str(c.tracks.shape()), " for ", S_, " frames x ", len, " points");
      const std::vector<float> t = c.tracks.to_vector<float>(), v = c.vis.to_vector<float>();
      for (int64_t s = 0; s < S_; ++s) {
        const int64_t dst = order[s];  // reordered frame s is original frame order[s] (a swap: its own inverse)
        std::copy_n(t.data() + s * len * 2, len * 2, r.tracks.data() + (dst * n + off) * 2);
        std::copy_n(v.data() + s * len, len, r.vis.data() + dst * n + off);
      }
      off += len;
    }
    add_seconds(out_.seconds, "tracking", since(t0));
  }

  const Tensor& images_;
  const TrackModels& m_;
  const PredictTracksOptions& opt_;
  PredictedTracks& out_;
  std::mt19937_64 rng_;
  Tensor host_images_, fmaps_;
  std::vector<float> conf_host_, points_host_;
  int64_t S_ = 0, H_ = 0, W_ = 0, ch_ = 0, cw_ = 0;
  std::vector<Round> rounds_;
};

void check_inputs(const Tensor& images, const Tensor& conf, const Tensor& points, const TrackModels& m) {
  VG_CHECK(images.defined() && images.ndim() == 4 && images.size(1) == 3 && images.size(0) >= 2,
           "predict_tracks: images must be [S>=2,3,H,W], got ", images.defined() ? shape_str(images.shape()) : "none");
  VG_CHECK(m.rank_frames && m.fmaps && m.track && !m.extractors.empty(), "predict_tracks: incomplete models");
  if (!conf.defined()) return;
  VG_CHECK(conf.ndim() == 3 && conf.size(0) == images.size(0) && conf.size(1) == conf.size(2),
           "predict_tracks: conf must be square [S,h,h], got ", shape_str(conf.shape()));
  VG_CHECK(images.size(2) == images.size(3), "predict_tracks: depth lookups need square images (as the original), got ",
           images.size(2), "x", images.size(3));
  if (points.defined())
    VG_CHECK(points.ndim() == 4 && points.size(3) == 3 && points.size(0) == conf.size(0) &&
                 points.size(1) == conf.size(1) && points.size(2) == conf.size(2),
             "predict_tracks: points must be [S,h,w,3] like conf, got ", shape_str(points.shape()));
}

}  // namespace

std::vector<int64_t> query_first_order(int q, int64_t S) {
  VG_CHECK(q >= 0 && q < S, "query frame ", q, " of ", S);
  std::vector<int64_t> order(S);
  std::iota(order.begin(), order.end(), int64_t{0});
  std::swap(order[0], order[q]);
  return order;
}

std::vector<int64_t> chunk_sizes(int64_t n, int64_t chunks) {
  VG_CHECK(n >= 0 && chunks >= 1, "chunk_sizes: ", n, " items in ", chunks, " chunks");
  const int64_t each = (n + chunks - 1) / chunks;
  std::vector<int64_t> sizes;
  for (int64_t off = 0; off < n; off += each) sizes.push_back(std::min(each, n - off));
  return sizes;
}

PredictedTracks predict_tracks(const Tensor& images, const Tensor& conf, const Tensor& points, const TrackModels& m,
                               const PredictTracksOptions& opt) {
  check_inputs(images, conf, points, m);
  PredictedTracks out;
  Predictor p(images, conf, points, m, opt, out);
  auto say = [&](const std::string& s) {
    if (opt.log) opt.log(s);
  };

  auto t0 = std::chrono::steady_clock::now();
  std::vector<int> queries = m.rank_frames(images, opt.query_frame_num);
  queries.erase(std::remove(queries.begin(), queries.end(), 0), queries.end());
  queries.insert(queries.begin(), 0);
  add_seconds(out.seconds, "rank", since(t0));
  t0 = std::chrono::steady_clock::now();
  p.set_fmaps(m.fmaps(images));
  add_seconds(out.seconds, "fmaps", since(t0));

  int done = 0;
  for (int q : queries) {
    say("tracks from query frame " + std::to_string(q));
    p.forward_on_query(q, m.extractors);
    if (opt.progress) opt.progress(++done, static_cast<int>(queries.size()));
  }

  if (opt.complete_non_vis) {  // _augment_non_visible_frames
    int last = -1;
    for (;;) {
      const std::vector<int> weak = p.frames_below_min_vis();
      if (weak.empty()) break;
      const bool final_trial = weak.front() == last;
      const bool have_final = !m.final_extractors.empty();
      const std::vector<int> round = final_trial ? weak : std::vector<int>{weak.front()};
      last = weak.front();
      for (int q : round) {
        say("tracks from non-visible frame " + std::to_string(q) + (final_trial ? " (final trial)" : ""));
        p.forward_on_query(q, final_trial && have_final ? m.final_extractors : m.extractors);
      }
      if (final_trial) {
        const std::vector<int> still = p.frames_below_min_vis();
        if (!still.empty()) {
          std::string list;
          for (int s : still) list += (list.empty() ? "" : ", ") + std::to_string(s);
          out.notes.push_back("frames reached by fewer than " + std::to_string(opt.min_vis) +
                              " visible tracks after the final trial: " + list);
        }
        break;
      }
    }
  }
  p.finish();
  return out;
}

}  // namespace vg::tracks
