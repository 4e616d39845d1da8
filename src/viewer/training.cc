#include "viewer/training.h"

#include "core/device.h"
#include "core/error.h"
#include "splat/trainer.h"
#include "viewer/scene.h"
#include "viewer/server.h"

namespace vg {

TrainingViewer::TrainingViewer(Trainer& trainer, const TrainingViewerOptions& opt) : trainer_(trainer), opt_(opt) {
  VG_CHECK(viewer_supported(), viewer_unsupported_message());
  VG_CHECK(opt.every > 0, "--viewer-every must be > 0, got ", opt.every);
  const Dataset& data = trainer.dataset();
  ViewerScene first = ply_scene(trainer.gaussians().to(Device::cpu()), data.transform, trainer.start_step());
  store_ = std::make_shared<SceneStore>(std::move(first), viewer_context(data, trainer.config()), true);
  ServerOptions so;
  so.host = opt.host;
  so.port = opt.port;
  server_ = std::make_unique<ViewerServer>(so, store_);
  server_->start();
  trainer.set_step_callback([this](int step) {
    if ((step + 1) % opt_.every == 0) publish(step + 1);
  });
}

TrainingViewer::~TrainingViewer() {
  trainer_.set_step_callback(nullptr);
  server_->stop();
}

std::string TrainingViewer::url() const { return server_->url(); }

void TrainingViewer::publish(int step) {
  const Trainer& t = trainer_;
  store_->publish(ply_scene(t.gaussians().to(Device::cpu()), t.dataset().transform, step),
                  run_stats_json(t.config().result_dir));
}

}  // namespace vg
