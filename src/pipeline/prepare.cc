#include "pipeline/prepare.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <regex>

#include "core/error.h"
#include "pipeline/video_dataset.h"

namespace vg {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_photo(const fs::path& p) {
  const std::string ext = lower(p.extension().string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

std::vector<fs::path> photos_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (!name.empty() && name[0] != '.' && e.is_regular_file() && is_photo(e.path())) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  return out;
}

// Path components, without empty ones and ".".
std::vector<std::string> components(const fs::path& p) {
  std::vector<std::string> out;
  for (const auto& c : fs::absolute(p).lexically_normal()) {
    const std::string s = c.string();
    if (!s.empty() && s != "/" && s != ".") out.push_back(s);
  }
  return out;
}

}  // namespace

std::vector<fs::path> list_source_photos(const fs::path& source_dir) {
  VG_CHECK(fs::is_directory(source_dir), "source folder ", source_dir.string(), " does not exist or is not a folder");
  std::vector<fs::path> photos = photos_in(source_dir);
  if (photos.empty()) photos = photos_in(source_dir / "images");
  return photos;
}

int dtu_angle(const std::string& file_name) {
  static const std::regex re(R"(rect_\d+_(\d)_r5000\.(png|jpg|jpeg))", std::regex::icase);
  std::smatch m;
  if (!std::regex_match(file_name, m, re)) return -1;
  return m[1].str()[0] - '0';
}

std::vector<int> uniform_sample_indices(int n, int k) {
  VG_CHECK(n >= 0 && k >= 1, "uniform sampling needs n >= 0 and k >= 1, got n=", n, " k=", k);
  std::vector<int> idx;
  if (k >= n) {
    for (int i = 0; i < n; ++i) idx.push_back(i);
    return idx;
  }
  if (k == 1) return {0};
  const double step = static_cast<double>(n - 1) / (k - 1);  // numpy: delta / div, then i * step
  for (int i = 0; i < k - 1; ++i) idx.push_back(static_cast<int>(i * step));
  idx.push_back(n - 1);  // numpy sets the endpoint exactly
  return idx;
}

fs::path standard_dataset_dir(const fs::path& source_dir, const fs::path& out_root) {
  std::vector<std::string> parts = components(source_dir);
  if (!parts.empty() && parts.back() == "images") parts.pop_back();
  VG_CHECK(!parts.empty(), "cannot name a dataset after the source path '", source_dir.string(), "'");
  const bool dtu = std::find(parts.begin(), parts.end(), "DTU") != parts.end();
  static const std::regex scan_re(R"((scan\d+)(_train)?)");
  std::smatch m;
  if (dtu && std::regex_match(parts.back(), m, scan_re)) return out_root / "DTU" / (m[1].str() + "_standard");
  auto co3d = std::find(parts.begin(), parts.end(), "CO3Dv2");
  if (co3d != parts.end() && parts.end() - co3d >= 3) {
    // .../CO3Dv2/<category>/<sequence>: the two components after CO3Dv2.
    return out_root / "CO3Dv2" / (*(co3d + 1) + "_" + *(co3d + 2) + "_standard");
  }
  return out_root / (parts.back() + "_standard");
}

PrepareResult prepare_dataset(const fs::path& source_dir, const PrepareOptions& opt) {
  if (is_video_file(source_dir)) return prepare_video(source_dir, opt);
  VG_CHECK(opt.max_images >= 1, "--max-images must be >= 1, got ", opt.max_images);
  std::vector<fs::path> photos = list_source_photos(source_dir);
  VG_CHECK(!photos.empty(), "no PNG/JPG photos in ", source_dir.string(), " (nor in its images/ folder)");
  PrepareResult r;
  r.num_source = static_cast<int>(photos.size());
  r.dtu = std::all_of(photos.begin(), photos.end(), [](const fs::path& p) { return dtu_angle(p.filename().string()) >= 0; });
  if (r.dtu) {
    std::stable_sort(photos.begin(), photos.end(), [](const fs::path& a, const fs::path& b) {
      const int aa = dtu_angle(a.filename().string()), ab = dtu_angle(b.filename().string());
      return aa != ab ? aa < ab : a.filename() < b.filename();
    });
  }
  r.out_dir = standard_dataset_dir(source_dir, opt.out_root);
  VG_CHECK(opt.overwrite || !fs::exists(r.out_dir), "output folder ", r.out_dir.string(),
           " already exists (remove it or use --overwrite)");

  // Build beside the output, then rename: an interrupted prepare leaves no half-filled dataset.
  const fs::path tmp = r.out_dir.parent_path() / ("." + r.out_dir.filename().string() + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp / "images");
  try {
    const std::vector<int> idx = uniform_sample_indices(static_cast<int>(photos.size()), opt.max_images);
    for (size_t k = 0; k < idx.size(); ++k) {
      const fs::path& src = photos[idx[k]];
      char num[32];
      std::snprintf(num, sizeof(num), "%04zu", k);
      const std::string name = r.dtu ? num + lower(src.extension().string()) : src.filename().string();
      fs::copy_file(src, tmp / "images" / name);
      r.sources.push_back(src.filename().string());
      r.names.push_back(name);
    }
    fs::remove_all(r.out_dir);
    fs::rename(tmp, r.out_dir);
  } catch (const fs::filesystem_error& e) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    VG_FAIL("prepare ", source_dir.string(), " -> ", r.out_dir.string(), " failed: ", e.what());
  }
  return r;
}

}  // namespace vg
