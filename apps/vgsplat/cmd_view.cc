// `vgsplat view <results dir | .ply | .splat | .spz | checkpoint> [--port 8080] [--host 127.0.0.1]
//  [--data-dir D] [--data-factor F]`: serves the web viewer (src/viewer/) for one scene until Ctrl-C.
#include <cstdio>
#include <memory>

#include "apps/vgsplat/commands.h"
#include "core/error.h"
#include "viewer/scene.h"
#include "viewer/server.h"

namespace vg::app {
namespace {

struct ViewArgs {
  std::string model, data_dir, host = "127.0.0.1";
  int port = 8080;
  int data_factor = 0;
};

void run_view(const ViewArgs& a) {
  VG_CHECK(viewer_supported(), viewer_unsupported_message());
  VG_CHECK(a.port >= 0 && a.port <= 65535, "--port must be 0..65535, got ", a.port);
  ViewerInput in;
  in.path = a.model;
  in.data_dir = a.data_dir;
  if (a.data_factor > 0) in.data_factor = a.data_factor;
  LoadedViewer loaded = load_viewer_input(in);
  const size_t cameras = loaded.context.cameras.size();
  const long long n = loaded.scene.num_gaussians;
  auto store = std::make_shared<SceneStore>(std::move(loaded.scene), std::move(loaded.context));
  ServerOptions opt;
  opt.host = a.host;
  opt.port = a.port;
  ViewerServer server(opt, store);
  if (a.host != "127.0.0.1" && a.host != "localhost")
    std::fprintf(stderr, "vgsplat: warning: the viewer listens on %s: anyone who can reach this machine can see the "
                 "scene\n", a.host.c_str());
  if (!loaded.note.empty()) std::fprintf(stderr, "vgsplat: %s\n", loaded.note.c_str());
  std::printf("viewer: %lld Gaussians, %zu cameras at %s (Ctrl-C to stop)\n", n, cameras, server.url().c_str());
  std::fflush(stdout);
  server.serve();
}

}  // namespace

void register_view(CLI::App& app) {
  auto* cmd = app.add_subcommand("view", "Serve a web viewer of a results folder, PLY, .splat, .spz or checkpoint");
  auto a = std::make_shared<ViewArgs>();
  cmd->add_option("model", a->model, "Results folder, 3DGS PLY, .splat, .spz or ckpt_<step>.safetensors")->required();
  cmd->add_option("--port", a->port, "Port (0: any free port)")->capture_default_str();
  cmd->add_option("--host", a->host, "Address to listen on (0.0.0.0: every interface, with a warning)")
      ->capture_default_str();
  cmd->add_option("--data-dir", a->data_dir, "Dataset whose cameras to list (default: the run's)");
  cmd->add_option("--data-factor", a->data_factor, "Image downscale factor of the cameras (default: the run's, else 4)");
  cmd->callback([a] { run_view(*a); });
}

}  // namespace vg::app
