// predict_tracks' orchestration (tracks/predict_tracks.h) with small deterministic stand-in networks: query
// frames (frame 0 first), keypoints of every extractor, colours and VGGT depth lookups at the query points, the
// confidence filter, the query-first frame order and its restoration, torch.chunk-sized tracker calls, and
// complete_non_vis's rounds. The networks themselves are tested against the official code in their own tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/temp_dir.h"
#include "tracks/predict_tracks.h"

namespace vg::tracks {
namespace {

constexpr int64_t S = 4, H = 32, W = 32, h = 16;

Tensor make_images() {
  Tensor im = Tensor::empty({S, 3, H, W});
  float* p = im.data<float>();
  for (int64_t s = 0; s < S; ++s)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < H * W; ++i) p[(s * 3 + c) * H * W + i] = static_cast<float>((s * 3 + c) % 7) / 7.f;
  return im;
}

Keypoints kps(std::vector<float> xy) {
  const int64_t n = static_cast<int64_t>(xy.size() / 2);
  return {Tensor::from_vector(xy, {n, 2}), Tensor::zeros({n})};
}

struct Calls {
  std::vector<int64_t> chunk_points;
  std::vector<float> first_frame_marker;  // images[0] of each call: which frame came first
};

// Tracker stand-in: point i in reordered frame s moves by (s, 0.5 s); visibility 1 except in original frame
// `dark` (recognised by its colour), where it is 0.
TrackModels models(Calls& calls, int dark) {
  TrackModels m;
  m.rank_frames = [](const Tensor&, int n) {
    std::vector<int> r = {2, 0, 3};
    r.resize(std::min<size_t>(r.size(), static_cast<size_t>(n)));
    return r;
  };
  m.extractors.push_back([](const Tensor& img) {
    const float v = img.data<float>()[0];  // frame colour identifies the frame
    return kps({1.f + 7 * v, 2.f, 10.4f, 11.6f});
  });
  m.extractors.push_back([](const Tensor&) { return kps({20.f, 21.f}); });
  m.final_extractors.push_back([](const Tensor&) { return kps({5.f, 5.f}); });
  m.fmaps = [](const Tensor& images) { return images.clone(); };
  m.track = [&calls, dark](const Tensor& images, const Tensor& fmaps, const Tensor& q) {
    EXPECT_EQ(images.numel(), fmaps.numel());
    const int64_t n = q.size(0);
    calls.chunk_points.push_back(n);
    calls.first_frame_marker.push_back(images.data<float>()[0]);
    TrackChunk c{Tensor::empty({S, n, 2}), Tensor::empty({S, n})};
    for (int64_t s = 0; s < S; ++s) {
      const float colour = images.data<float>()[s * 3 * H * W];
      const bool is_dark = std::abs(colour - static_cast<float>((dark * 3) % 7) / 7.f) < 1e-6f;
      for (int64_t i = 0; i < n; ++i) {
        c.tracks.data<float>()[(s * n + i) * 2] = q.data<float>()[2 * i] + static_cast<float>(s);
        c.tracks.data<float>()[(s * n + i) * 2 + 1] = q.data<float>()[2 * i + 1] + 0.5f * static_cast<float>(s);
        c.vis.data<float>()[s * n + i] = is_dark ? 0.f : 1.f;
      }
    }
    return c;
  };
  return m;
}

TEST(PredictTracks, QueryRoundsOrderAndLookups) {
  Calls calls;
  const Tensor images = make_images();
  Tensor conf = Tensor::full({S, h, h}, 2.f), pts = Tensor::empty({S, h, h, 3});
  for (int64_t s = 0; s < S; ++s)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < h; ++x) {
        float* p = pts.data<float>() + ((s * h + y) * h + x) * 3;
        p[0] = static_cast<float>(s), p[1] = static_cast<float>(y), p[2] = static_cast<float>(x);
      }
  PredictTracksOptions opt;
  opt.shuffle = false;
  opt.complete_non_vis = false;
  opt.query_frame_num = 3;
  const PredictedTracks r = predict_tracks(images, conf, pts, models(calls, -1), opt);
  EXPECT_EQ(r.query_frames, (std::vector<int>{0, 2, 3}));
  ASSERT_EQ(r.tracks.size(1), 9);  // 3 rounds x 3 points
  // Round 2 (query frame 2): its points sit at the query position in frame 2 and move in the others by the
  // position the frame had in the reordered sequence [2, 1, 0, 3].
  const float* T = r.tracks.data<float>();
  const int64_t N = 9, i = 3;  // first point of round 2
  const float qx = 1.f + 7 * images.data<float>()[2 * 3 * H * W];
  EXPECT_FLOAT_EQ(T[(2 * N + i) * 2], qx);         // frame 2 = reordered 0
  EXPECT_FLOAT_EQ(T[(0 * N + i) * 2], qx + 2.f);   // frame 0 = reordered 2
  EXPECT_FLOAT_EQ(T[(1 * N + i) * 2], qx + 1.f);
  EXPECT_FLOAT_EQ(T[(3 * N + i) * 2 + 1], 2.f + 1.5f);
  EXPECT_EQ(r.track_query_frame[i], 2);
  // Depth lookups at round(xy * 16 / 32), half to even: (10.4, 11.6) -> (5.2, 5.8) -> (5, 6).
  EXPECT_FLOAT_EQ(r.xyz[3 * 1 + 0], 0.f);
  EXPECT_FLOAT_EQ(r.xyz[3 * 1 + 1], 6.f);
  EXPECT_FLOAT_EQ(r.xyz[3 * 1 + 2], 5.f);
  // Colours: the frame's value * 255, truncated.
  EXPECT_EQ(r.rgb[3 * i + 1], static_cast<uint8_t>(images.data<float>()[(2 * 3 + 1) * H * W] * 255.f));
}

TEST(PredictTracks, ChunksAsTorchChunkAndFiltersLowConfidence) {
  Calls calls;
  const Tensor images = make_images();
  Tensor conf = Tensor::full({S, h, h}, 2.f);
  conf.data<float>()[(0 * h + 10) * h + 10] = 1.0f;  // frame 0 at (20, 21) / 2 -> dropped when enough remain
  PredictTracksOptions opt;
  opt.shuffle = false;
  opt.complete_non_vis = false;
  opt.query_frame_num = 1;
  opt.min_conf_keep = 1;
  opt.max_points_num = 4;  // 4 frames x 3 points = 12 -> 3 chunks of 1 point; after the filter 2 points -> 2 chunks
  const PredictedTracks r = predict_tracks(images, conf, Tensor(), models(calls, -1), opt);
  ASSERT_EQ(r.query_frames.size(), 2u);  // 0 and the ranked frame 2
  EXPECT_EQ(r.tracks.size(1), 2 + 3);
  EXPECT_EQ(calls.chunk_points, (std::vector<int64_t>{1, 1, 1, 1, 1}));
  EXPECT_EQ(r.conf.size(), 5u);
  EXPECT_TRUE(r.xyz.empty());
  EXPECT_EQ(chunk_sizes(10, 3), (std::vector<int64_t>{4, 4, 2}));
  EXPECT_EQ(chunk_sizes(4, 3), (std::vector<int64_t>{2, 2}));  // torch.chunk: fewer pieces when they run out
  EXPECT_EQ(query_first_order(2, 4), (std::vector<int64_t>{2, 1, 0, 3}));
}

TEST(PredictTracks, CompleteNonVisTriesTheFrameThenAFinalRound) {
  Calls calls;
  PredictTracksOptions opt;
  opt.shuffle = true;
  opt.query_frame_num = 1;
  opt.min_vis = 1;  // frame 3 is never visible: one round on it, then the final trial with the final extractors
  const PredictedTracks r = predict_tracks(make_images(), Tensor(), Tensor(), models(calls, 3), opt);
  EXPECT_EQ(r.query_frames, (std::vector<int>{0, 2, 3, 3}));
  EXPECT_EQ(r.keypoints_per_round.back(), 1);  // the final extractors' single point
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("after the final trial: 3"), std::string::npos) << r.notes[0];
  EXPECT_EQ(r.tracks.size(1), 3 + 3 + 3 + 1);
}

TEST(PredictTracks, BadInputIsOneLine) {
  Calls calls;
  const std::string msg = test::error_of([&] {
    predict_tracks(Tensor::zeros({1, 3, 8, 8}), Tensor(), Tensor(), models(calls, -1), {});
  });
  EXPECT_NE(msg.find("[S>=2,3,H,W]"), std::string::npos) << msg;
  const std::string msg2 = test::error_of([&] {
    predict_tracks(make_images(), Tensor::zeros({S, 8, 4}), Tensor(), models(calls, -1), {});
  });
  EXPECT_NE(msg2.find("square"), std::string::npos) << msg2;
}

}  // namespace
}  // namespace vg::tracks
