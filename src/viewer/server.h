// The viewer's HTTP server (cpp-httplib): GET / and the page's own files (web_assets.h), api/scene
// (SceneStore::info_json), api/step (during training) and scene/<the one scene file>. Everything else,
// `..` paths (plain or percent-encoded) and symlinks out of the page's folder included, is a 404.
// Without cpp-httplib in the build the constructor throws viewer_unsupported_message().
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include "viewer/scene.h"

namespace vg {

struct ServerOptions {
  std::string host = "127.0.0.1";  // 0.0.0.0 exposes the viewer to the network
  int port = 8080;                 // 0: any free port
  std::filesystem::path web_dir;   // empty: find_web_dir()
};

bool viewer_supported();
std::string viewer_unsupported_message();

class ViewerServer {
 public:
  // Loads the page and binds the port; a port in use throws one line naming it.
  ViewerServer(const ServerOptions& opt, std::shared_ptr<SceneStore> store);
  ~ViewerServer();  // stops serving
  int port() const;
  std::string url() const;  // http://<host>:<port>/
  void start();             // serve on a background thread
  void serve();             // serve on this thread until stop()
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vg
