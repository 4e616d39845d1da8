#include "viewer/web_assets.h"

#include <cstdlib>

#include "core/error.h"
#include "core/fs.h"

#ifndef VGSPLAT_WEB_BUILD_DIR
#define VGSPLAT_WEB_BUILD_DIR ""
#endif

namespace vg {
namespace {

std::string content_type_of(const fs::path& p) {
  const std::string ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".wasm") return "application/wasm";
  if (ext == ".png") return "image/png";
  return "application/octet-stream";
}

}  // namespace

fs::path find_web_dir() {
  if (const char* env = std::getenv("VGSPLAT_WEB_DIR"); env && *env) return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path().parent_path() / "share" / "vgsplat" / "web";
    if (fs::is_regular_file(installed / "index.html", ec)) return installed;
  }
  return VGSPLAT_WEB_BUILD_DIR;
}

WebAssets load_web_assets(const fs::path& dir) {
  std::error_code ec;
  VG_CHECK(!dir.empty() && fs::is_regular_file(dir / "index.html", ec) && fs::is_regular_file(dir / "viewer.js", ec),
           "the viewer's page is missing in '", dir.string(),
           "': rebuild vgsplat with npm and cpp-httplib (apt-get install npm libcpp-httplib-dev) or set VGSPLAT_WEB_DIR");
  const fs::path root = fs::canonical(dir);
  WebAssets out;
  for (const auto& e : fs::directory_iterator(root)) {
    const fs::path target = fs::canonical(e.path(), ec);
    if (ec || !fs::is_regular_file(target, ec) || !same_or_inside(target.parent_path(), root)) continue;
    out["/" + e.path().filename().string()] = {content_type_of(e.path()), read_file(target)};
  }
  return out;
}

}  // namespace vg
