// The viewer page's files (index.html, viewer.js, viewer.css: web/ bundled by esbuild at build time),
// read once into memory from the installed or build-tree folder. Only regular files directly in that
// folder are served; a symlink whose target lies outside it is left out.
#pragma once
#include <filesystem>
#include <map>
#include <string>

namespace vg {

struct WebAsset {
  std::string content_type;
  std::string bytes;
};
using WebAssets = std::map<std::string, WebAsset>;  // "/index.html" -> file

// $VGSPLAT_WEB_DIR, else <binary>/../share/vgsplat/web (installed), else the build tree's web/.
std::filesystem::path find_web_dir();
// Throws vg::Error (one line, how to rebuild) when index.html or viewer.js is missing.
WebAssets load_web_assets(const std::filesystem::path& dir);

}  // namespace vg
