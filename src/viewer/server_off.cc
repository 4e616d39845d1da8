// The viewer server without cpp-httplib in the build: every use says how to get it.
#include "core/error.h"
#include "viewer/server.h"

namespace vg {

bool viewer_supported() { return false; }
std::string viewer_unsupported_message() {
  return "this vgsplat was built without the web viewer: install cpp-httplib and npm (Debian: apt-get install "
         "libcpp-httplib-dev npm) and rebuild (cmake finds them; -DVGSPLAT_VIEWER=ON)";
}

struct ViewerServer::Impl {};

ViewerServer::ViewerServer(const ServerOptions&, std::shared_ptr<SceneStore>) { VG_FAIL(viewer_unsupported_message()); }
ViewerServer::~ViewerServer() = default;
int ViewerServer::port() const { return 0; }
std::string ViewerServer::url() const { return ""; }
void ViewerServer::start() {}
void ViewerServer::serve() {}
void ViewerServer::stop() {}

}  // namespace vg
