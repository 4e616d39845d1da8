// The learned track source of P3/P5 (`--tracks vggsfm`): vggt/dependency/track_predict.py::predict_tracks.
// 1. query frames: frame 0, then query_frame_num frames ranked by DINOv2 (farthest-point sampling);
// 2. on each query frame, keypoints from the extractors (ALIKED, then SuperPoint), shuffled; their colours, and
//    VGGT's confidence and 3D point at them (low-confidence points dropped when > 512 stay);
// 3. the tracker on all frames with the query frame moved to the front (feature maps computed once), the query
//    points chunked so that frames x points <= max_points_num;
// 4. complete_non_vis: frames that fewer than min_vis tracks reach (visibility > non_vis_thresh) become query
//    frames one at a time; a frame failing twice triggers one last round over all of them with the final
//    extractors (SuperPoint, SIFT, ALIKED at 2048 points);
// 5. everything concatenated over the query rounds.
// The networks come in as functions (TrackModels), so one orchestration serves the CPU and CUDA engines.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "tracks/keypoints.h"

namespace vg::tracks {

struct TrackChunk {
  Tensor tracks;  // [S,N,2] pixel (x, y), frame 0 = the query frame
  Tensor vis;     // [S,N] visibility in [0,1]
};

struct TrackModels {
  // DINOv2 ranking of images [S,3,H,W]: query_frame_num indices, generate_rank_by_dino's order.
  std::function<std::vector<int>(const Tensor& images, int query_frame_num)> rank_frames;
  std::vector<std::function<Keypoints(const Tensor& image)>> extractors;        // "aliked+sp", in that order
  std::vector<std::function<Keypoints(const Tensor& image)>> final_extractors;  // "sp+sift+aliked" at 2048
  std::function<Tensor(const Tensor& images)> fmaps;  // the tracker's coarse feature maps [S,C,h,w], once
  // The tracker on images / fmaps reordered so that frame 0 is the query frame, for query points [N,2].
  std::function<TrackChunk(const Tensor& images, const Tensor& fmaps, const Tensor& query_points)> track;
};

struct PredictTracksOptions {
  int query_frame_num = 8;        // demo_colmap.py --query_frame_num
  int64_t max_points_num = 163840;  // frames x points per tracker call
  bool complete_non_vis = true;
  int min_vis = 500;              // _augment_non_visible_frames
  float non_vis_thresh = 0.1f;
  float min_conf = 1.2f;          // VGGT depth confidence below which query points are dropped ...
  int min_conf_keep = 512;        // ... when more than this many remain
  bool shuffle = true;            // torch.randperm of the query points (seeded here)
  uint64_t seed = 0;
  std::function<void(const std::string&)> log;
  std::function<void(int done, int total)> progress;  // query rounds
};

struct PredictedTracks {
  Tensor tracks;                 // [S,N,2] F32, pixels of the images given (x, y)
  Tensor vis;                    // [S,N] F32
  std::vector<float> conf;       // [N] VGGT confidence at the query point (empty without depth)
  std::vector<float> xyz;        // [N*3] VGGT's 3D point at the query point (empty without depth)
  std::vector<uint8_t> rgb;      // [N*3] colour at the query point
  std::vector<int> track_query_frame;  // [N] the frame each track was queried on
  std::vector<int> query_frames;       // every query round's frame, in order (incl. complete_non_vis)
  std::vector<int> keypoints_per_round;
  std::vector<std::string> notes;      // query frames without keypoints, frames never reached, ...
  std::vector<std::pair<std::string, double>> seconds;  // rank, fmaps, keypoints, tracking
};

// images [S,3,H,W] F32 in [0,1] (the 1024-px square frames); conf [S,h,w] and points [S,h,w,3] from VGGT
// (square, h == w; undefined tensors: no confidence filter, no 3D points). Throws vg::Error on bad shapes.
PredictedTracks predict_tracks(const Tensor& images, const Tensor& conf, const Tensor& points, const TrackModels& m,
                               const PredictTracksOptions& opt);

// calculate_index_mappings: 0 .. S-1 with 0 and q swapped.
std::vector<int64_t> query_first_order(int q, int64_t S);
// torch.chunk sizes of n items into `chunks` pieces: ceil(n / chunks) each, the last one smaller (fewer pieces
// when they run out).
std::vector<int64_t> chunk_sizes(int64_t n, int64_t chunks);

}  // namespace vg::tracks
