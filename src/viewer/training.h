// `vgsplat train --viewer`: the viewer's page served while training; every `every` steps the trainer's
// Gaussians are published (as a world-frame PLY) and the page, polling api/step, reloads them.
#pragma once
#include <memory>
#include <string>

namespace vg {

class Trainer;
class SceneStore;
class ViewerServer;

struct TrainingViewerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  int every = 100;  // publish every N steps
};

class TrainingViewer {
 public:
  // Binds the port (one-line error when in use), starts serving and hooks the trainer's step callback.
  TrainingViewer(Trainer& trainer, const TrainingViewerOptions& opt);
  ~TrainingViewer();
  std::string url() const;

 private:
  void publish(int step);
  Trainer& trainer_;
  TrainingViewerOptions opt_;
  std::shared_ptr<SceneStore> store_;
  std::unique_ptr<ViewerServer> server_;
};

}  // namespace vg
