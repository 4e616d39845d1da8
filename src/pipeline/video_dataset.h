// A video as the source of `vgsplat prepare` and `vgsplat run`: its frames (as `vgsplat frames`:
// `max_images` sampled uniformly over the whole duration, frame_0001.jpg, ...) become a new standard
// dataset <out_root>/<video stem>_standard/images/ (where prepare puts a photo folder's dataset; never
// next to the video). Without FFmpeg in the build: vg::Error with the one-line rebuild message.
#pragma once
#include <filesystem>

#include "pipeline/prepare.h"

namespace vg {

// A regular file with a video container's extension (.mp4, .mov, .mkv, .avi, .webm, .m4v, ...).
bool is_video_file(const std::filesystem::path& path);
// <out_root>/<stem>_standard.
std::filesystem::path video_dataset_dir(const std::filesystem::path& video, const std::filesystem::path& out_root);
// `prepare` of a video: extracts the frames into the dataset folder (built aside, renamed into place);
// an existing folder is an error unless opt.overwrite. num_source = frames written.
PrepareResult prepare_video(const std::filesystem::path& video, const PrepareOptions& opt);
// `run`'s scene argument: a video becomes its dataset folder (extracted now, or kept from an earlier
// prepare/run of the same video); anything else is returned unchanged.
std::filesystem::path scene_from_source(const std::filesystem::path& scene, const PrepareOptions& opt);

}  // namespace vg
