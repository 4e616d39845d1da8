// Acceptance 4 of issue 15: the viewer page in a real browser. A small demo scene is trained on the CPU,
// served by the viewer (in-process, any free port) and loaded in headless Chromium (WebGL on SwiftShader)
// by web/test/snapshot.cjs; the canvas at a training camera must match `vgsplat render` of that camera
// (PSNR >= 25 dB) for the PLY, a .splat and a .spz export. Skips without the viewer, node or Chromium.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/fs.h"
#include "io/image.h"
#include "io/ply.h"
#include "io/splat_formats.h"
#include "pipeline/demo_scene.h"
#include "pipeline/render_model.h"
#include "splat/trainer.h"
#include "viewer/scene.h"
#include "viewer/server.h"

#ifndef VGSPLAT_WEB_NPM_DIR
#define VGSPLAT_WEB_NPM_DIR ""
#define VGSPLAT_NODE ""
#endif

namespace vg {
namespace {

// $VGSPLAT_CHROMIUM, else the first of the usual names on PATH ("" when none).
std::string find_chromium() {
  if (const char* env = std::getenv("VGSPLAT_CHROMIUM"); env && *env) return env;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  for (const char* name : {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}) {
    size_t start = 0;
    while (start <= dirs.size()) {
      const size_t end = std::min(dirs.find(':', start), dirs.size());
      const fs::path p = fs::path(dirs.substr(start, end - start)) / name;
      if (::access(p.c_str(), X_OK) == 0) return p.string();
      start = end + 1;
    }
  }
  return "";
}

std::string skip_reason() {
#if defined(__SANITIZE_ADDRESS__) || (defined(__has_feature) && __has_feature(address_sanitizer))
  return "not under sanitizers (a 200-step training there is slow; viewer_server_test covers the C++ side)";
#endif
  if (!viewer_supported()) return viewer_unsupported_message();
  if (find_chromium().empty()) return "no Chromium (apt-get install chromium, or set VGSPLAT_CHROMIUM)";
  std::error_code ec;
  if (!fs::is_regular_file(fs::path(VGSPLAT_WEB_NPM_DIR) / "snapshot.cjs", ec)) return "no web/test/snapshot.cjs build";
  return "";
}

Image read_rgb(const fs::path& p) { return to_rgb(read_image(p)); }

double psnr_of(const Image& a, const Image& b) {
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  if (a.pixels.size() != b.pixels.size()) return 0;
  double se = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) se += (a.pixels[i] - b.pixels[i]) * (a.pixels[i] - b.pixels[i]);
  return 10 * std::log10(1.0 / std::max(se / a.pixels.size(), 1e-12));
}

// Standard deviation over all channels: a blank (single-colour) canvas has ~0.
double contrast(const Image& a) {
  double s = 0, s2 = 0;
  for (float v : a.pixels) s += v, s2 += v * v;
  const double n = static_cast<double>(a.pixels.size()), m = s / n;
  return std::sqrt(std::max(0.0, s2 / n - m * m));
}

class ViewerBrowserTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_ = skip_reason();
    if (!skip_.empty()) return;
    root_ = fs::temp_directory_path() / ("vgsplat_viewer_browser_test_" + std::to_string(getpid()));
    fs::remove_all(root_);
    demo::SceneOptions o;
    o.width = o.height = 64;
    o.n_train = 16;
    o.n_test = 4;
    demo::write_scene(root_ / "data", o);
    TrainConfig c = demo::train_config(root_ / "data", root_ / "run", 200, "cpu");
    c.tb_every = 0;
    c.disable_video = true;
    c.lpips_weights.clear();
    Trainer trainer(c);
    trainer.set_verbose(false);
    trainer.run();
    ply_ = root_ / "run" / "ply" / "point_cloud_199.ply";
  }
  static void TearDownTestSuite() {
    if (!root_.empty()) fs::remove_all(root_);
  }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }

  // `vgsplat render` of `model` at the training cameras; returns the folder of rgb/<stem>.png.
  static fs::path render(const fs::path& model, const std::string& name) {
    RenderOptions r;
    r.model = model;
    r.data_dir = root_ / "data";
    r.data_factor = 1;
    r.split = "train";
    r.out_dir = root_ / ("render_" + name);
    r.device = "cpu";
    render_model(r);
    return r.out_dir / "rgb";
  }

  // The viewer serving `model` (cameras from the demo dataset), loaded in Chromium at camera `cam`.
  static Image snapshot(const fs::path& model, const std::string& cam) {
    ViewerInput in;
    in.path = model;
    in.data_dir = root_ / "data";
    in.data_factor = 1;
    LoadedViewer v = load_viewer_input(in);
    auto store = std::make_shared<SceneStore>(std::move(v.scene), std::move(v.context));
    ServerOptions opt;
    opt.port = 0;
    ViewerServer server(opt, store);
    server.start();
    const fs::path out = root_ / ("snapshot_" + model.filename().string() + ".png");
    const std::string cmd = std::string(VGSPLAT_NODE) + " " + VGSPLAT_WEB_NPM_DIR + "/snapshot.cjs '" +
                            find_chromium() + "' '" + server.url() + "?ui=0#cam=" + cam + "' '" + out.string() +
                            "' 240";
    const int rc = std::system(cmd.c_str());
    server.stop();
    EXPECT_EQ(rc, 0) << cmd;
    return rc == 0 ? read_rgb(out) : Image{};
  }

  static void expect_match(const fs::path& model, const fs::path& rendered, const char* what) {
    // The first training camera of the demo scene; its render is rgb/train_000.png.
    const Image page = snapshot(model, "images%2Ftrain_000.png");
    ASSERT_FALSE(page.pixels.empty()) << what;
    const Image ref = read_rgb(rendered / "train_000.png");
    EXPECT_GT(contrast(page), 0.05) << what << ": the canvas is blank";
    const double p = psnr_of(page, ref);
    std::printf("[ viewer   ] %s: page vs vgsplat render PSNR %.2f dB\n", what, p);
    EXPECT_GE(p, 25.0) << what;
  }

  static std::string skip_;
  static fs::path root_, ply_;
};
std::string ViewerBrowserTest::skip_;
fs::path ViewerBrowserTest::root_, ViewerBrowserTest::ply_;

// One test for the three formats: ctest runs every test in its own process, and each would train again.
TEST_F(ViewerBrowserTest, PagesMatchRenderForPlySplatAndSpz) {
  expect_match(ply_, render(ply_, "ply"), "PLY");
  // .splat keeps only the DC colour: compare with the render of the same model cut to SH degree 0.
  const Gaussians dc = truncate_sh(read_ply_3dgs(ply_), 0);
  write_ply_3dgs(root_ / "dc.ply", dc);
  write_splat(root_ / "scene.splat", dc);
  expect_match(root_ / "scene.splat", render(root_ / "dc.ply", "dc"), ".splat");
  write_spz(root_ / "scene.spz", read_ply_3dgs(ply_));  // spz keeps SH (quantised), stored in RUB axes
  expect_match(root_ / "scene.spz", render(ply_, "spz"), ".spz");
}

}  // namespace
}  // namespace vg
