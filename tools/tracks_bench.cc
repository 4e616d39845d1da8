// tracks_bench: vgsplat's predict_tracks (the `--tracks vggsfm` source of P3/P5) timed on the inputs
// tools/tracks_torch_bench.py wrote, for the side-by-side row against the official PyTorch code (issue 13).
//   tracks_bench --weights DIR --inputs FILE.safetensors [--device cuda] [--precision auto] [--query-frame-num 8]
//                [--max-query-pts 4096] [--no-fine] [--repeat 2] [--json OUT]
// DIR holds the four published file names. complete_non_vis is off (as on the official side, see the script).
// Prints each run's seconds (total and per stage), the peak GPU memory of vgsplat's allocations (the pool's
// high-water mark, weights included, as torch.cuda.max_memory_allocated) and the number of tracks.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "core/cuda_memory.h"
#include "core/device.h"
#include "core/error.h"
#include "core/fs.h"
#include "io/safetensors.h"
#include "tracks/predict_tracks.h"
#include "tracks/track_models.h"

namespace {

using namespace vg;

struct Args {
  std::string weights, inputs, json, device = "cuda", precision = "auto";
  int query_frame_num = 8, max_query_pts = 4096, repeat = 2;
  bool fine = true;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      VG_CHECK(i + 1 < argc, "tracks_bench: ", k, " needs a value");
      return argv[++i];
    };
    if (k == "--weights") a.weights = next();
    else if (k == "--inputs") a.inputs = next();
    else if (k == "--json") a.json = next();
    else if (k == "--device") a.device = next();
    else if (k == "--precision") a.precision = next();
    else if (k == "--query-frame-num") a.query_frame_num = std::stoi(next());
    else if (k == "--max-query-pts") a.max_query_pts = std::stoi(next());
    else if (k == "--repeat") a.repeat = std::stoi(next());
    else if (k == "--no-fine") a.fine = false;
    else VG_FAIL("tracks_bench: unknown argument ", k, " (see the comment at the top of tools/tracks_bench.cc)");
  }
  VG_CHECK(!a.inputs.empty(), "tracks_bench: --inputs FILE is required");
  return a;
}

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int run(const Args& a) {
  const Device d = resolve_device(a.device);
  const SafetensorsFile io = SafetensorsFile::open(a.inputs);
  const Tensor images = io.get("images", DType::F32), conf = io.get("conf", DType::F32),
               points = io.get("points", DType::F32);
  tracks::TrackModelOptions mo;
  mo.device = d;
  mo.precision = a.precision;
  mo.max_query_pts = a.max_query_pts;
  mo.fine_tracking = a.fine;
  if (d.is_cuda()) cuda_reset_peak_memory(d.index);
  auto t0 = std::chrono::steady_clock::now();
  const tracks::TrackModels models = tracks::load_track_models(tracks::resolve_tracker_weights(a.weights), mo);
  const double load_s = since(t0);
  std::printf("tracks_bench: %lld frames %lldx%lld, device %s, precision %s, models loaded in %.2f s\n",
              static_cast<long long>(images.size(0)), static_cast<long long>(images.size(3)),
              static_cast<long long>(images.size(2)), d.str().c_str(), a.precision.c_str(), load_s);
  nlohmann::json runs = nlohmann::json::array();
  for (int r = 0; r < a.repeat; ++r) {
    tracks::PredictTracksOptions po;
    po.query_frame_num = a.query_frame_num;
    po.complete_non_vis = false;
    t0 = std::chrono::steady_clock::now();
    const Tensor im = d.is_cuda() ? images.to(d) : images;  // the upload is timed, as the official .to(device)
    const tracks::PredictedTracks tr = tracks::predict_tracks(im, conf, points, models, po);
    if (d.is_cuda()) cuda_synchronize();
    const double s = since(t0);
    const size_t peak = d.is_cuda() ? cuda_peak_memory(d.index) : 0;
    nlohmann::json run = {{"seconds", s}, {"peak_bytes", peak}, {"tracks", tr.tracks.size(1)},
                          {"query_frames", tr.query_frames}, {"keypoints_per_round", tr.keypoints_per_round}};
    std::printf("vgsplat run %d: %.2f s, peak %.2f GiB, %lld tracks (", r, s, static_cast<double>(peak) / (1 << 30),
                static_cast<long long>(tr.tracks.size(1)));
    for (const auto& [k, v] : tr.seconds) {
      run["stages"][k] = v;
      std::printf(" %s %.2f", k.c_str(), v);
    }
    std::printf(" )\n");
    std::fflush(stdout);
    runs.push_back(run);
  }
  if (!a.json.empty())
    write_file_atomic(a.json, nlohmann::json{{"device", d.str()},
                                             {"precision", a.precision},
                                             {"frames", images.size(0)},
                                             {"size", images.size(2)},
                                             {"load_seconds", load_s},
                                             {"runs", runs}}
                                  .dump(1));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tracks_bench: %s\n", e.what());
    return 1;
  }
}
