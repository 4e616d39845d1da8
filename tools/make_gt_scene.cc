// make_gt_scene: a ground-truth SfM scene made here (pipeline/gt_scene.h): photos used as textures on
// planar faces, ray-traced at exactly known cameras, written as <out>/images/NNNN.jpg + <out>/transforms.json.
//   make_gt_scene --preset facade-15|facade-wide-8|object-24|object-10 --textures DIR [DIR ...] --out DIR
// Textures: the left and right halves of the first image of each folder (at least 2 folders; up to 16 textures).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "io/image.h"
#include "pipeline/gt_scene.h"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::string preset;
  std::vector<fs::path> dirs;
  fs::path out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--preset" && i + 1 < argc) preset = argv[++i];
    else if (a == "--out" && i + 1 < argc) out = argv[++i];
    else if (a == "--textures") while (i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0) dirs.emplace_back(argv[++i]);
    else {
      std::fprintf(stderr, "usage: make_gt_scene --preset NAME --textures DIR [DIR ...] --out DIR\n");
      return 2;
    }
  }
  try {
    VG_CHECK(!preset.empty() && !out.empty() && !dirs.empty(), "make_gt_scene: --preset, --textures and --out are needed");
    // The first photo (in name order) of each folder, cut into its left and right halves: every face then shows
    // different content (two photos of one multi-view set would repeat the same structure on two faces).
    std::vector<vg::Image> photos;
    for (const fs::path& d : dirs) {
      std::vector<fs::path> here;
      for (const auto& e : fs::directory_iterator(d))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') here.push_back(e.path());
      VG_CHECK(!here.empty(), "make_gt_scene: no image in ", d.string());
      const vg::Image im = vg::to_rgb(vg::read_image(*std::min_element(here.begin(), here.end())));
      for (int half = 0; half < 2; ++half) {
        vg::Image h;
        h.width = im.width / 2;
        h.height = im.height;
        h.channels = 3;
        for (int y = 0; y < h.height; ++y)
          for (int x = 0; x < h.width; ++x)
            for (int c = 0; c < 3; ++c) h.pixels.push_back(im.at(y, half * h.width + x, c));
        photos.push_back(std::move(h));
      }
    }
    const vg::synth::Preset p = vg::synth::make_preset(preset, photos);
    vg::synth::write_scene(out, p);
    std::printf("%s: %zu views %dx%d -> %s\n", preset.c_str(), p.views.size(), p.settings.K.width,
                p.settings.K.height, out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_gt_scene: %s\n", e.what());
    return 1;
  }
  return 0;
}
