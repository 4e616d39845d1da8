// MapperInput snapshot: little-endian PODs, length-prefixed strings/vectors, a magic and version first.
#include "sfm/mapper_input_io.h"

#include <unistd.h>

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "io/colmap.h"

namespace vg {
namespace {

constexpr char kMagic[8] = {'V', 'G', 'M', 'A', 'P', 'I', 'N', '1'};

struct Writer {
  std::ofstream& os;
  template <typename T>
  void pod(const T& v) { os.write(reinterpret_cast<const char*>(&v), sizeof(T)); }
  void str(const std::string& s) { pod<uint64_t>(s.size()); os.write(s.data(), static_cast<std::streamsize>(s.size())); }
  template <typename T>
  void vec(const std::vector<T>& v) {
    pod<uint64_t>(v.size());
    os.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
  }
};

struct Reader {
  std::ifstream& is;
  const std::filesystem::path& file;
  uint64_t size;  // of the file
  template <typename T>
  T pod() {
    T v{};
    is.read(reinterpret_cast<char*>(&v), sizeof(T));
    VG_CHECK(is.good(), "truncated mapper cache ", file.string());
    return v;
  }
  // A count of items of at least `elem` bytes each, checked against what is left of the file (a corrupt count
  // fails here instead of allocating gigabytes).
  uint64_t count(uint64_t elem) {
    const uint64_t n = pod<uint64_t>();
    const uint64_t left = size - static_cast<uint64_t>(is.tellg());
    VG_CHECK(n <= left / elem, "corrupt mapper cache ", file.string(), " (count ", n, " exceeds the file size)");
    return n;
  }
  std::string str() {
    std::string s(count(1), '\0');
    is.read(s.data(), static_cast<std::streamsize>(s.size()));
    VG_CHECK(is.good() || s.empty(), "truncated mapper cache ", file.string());
    return s;
  }
  template <typename T>
  std::vector<T> vec() {
    std::vector<T> v(count(sizeof(T)));
    is.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
    VG_CHECK(is.good() || v.empty(), "truncated mapper cache ", file.string());
    return v;
  }
};

}  // namespace

void save_mapper_input(const std::filesystem::path& file, const MapperInput& in) {
  const std::filesystem::path tmp = file.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream os(tmp, std::ios::binary);
    VG_CHECK(os, "cannot write ", tmp.string());
    Writer w{os};
    os.write(kMagic, sizeof(kMagic));
    w.pod<uint64_t>(in.cameras.size());
    for (const auto& [id, c] : in.cameras) {
      w.pod(id), w.str(c.model), w.pod(c.width), w.pod(c.height), w.vec(c.params);
      auto it = in.camera_has_prior_focal.find(id);
      w.pod<uint8_t>(it != in.camera_has_prior_focal.end() && it->second);
    }
    w.pod<uint64_t>(in.images.size());
    for (const MapperImage& im : in.images) w.str(im.name), w.pod(im.camera_id), w.vec(im.keypoints), w.vec(im.colors);
    w.pod<uint64_t>(in.pairs.size());
    for (const auto& [p, tv] : in.pairs) {
      w.pod(p.first), w.pod(p.second), w.pod(tv.config), w.pod(tv.E), w.pod(tv.F), w.pod(tv.H);
      w.pod(tv.cam2_from_cam1_q.coeffs().eval()), w.pod(tv.cam2_from_cam1_t), w.pod(tv.tri_angle);
      w.vec(tv.inlier_matches);
    }
    VG_CHECK(os.good(), "cannot write ", tmp.string());
  }
  std::filesystem::rename(tmp, file);
}

MapperInput load_mapper_input(const std::filesystem::path& file) {
  std::ifstream is(file, std::ios::binary);
  VG_CHECK(is, "cannot open mapper cache ", file.string());
  char magic[sizeof(kMagic)] = {};
  is.read(magic, sizeof(magic));
  VG_CHECK(is.good() && std::memcmp(magic, kMagic, sizeof(kMagic)) == 0, file.string(), " is not a vgsplat mapper cache");
  Reader r{is, file, static_cast<uint64_t>(std::filesystem::file_size(file))};
  MapperInput in;
  for (uint64_t k = 0, n = r.count(16); k < n; ++k) {
    ColmapCamera c;
    c.id = r.pod<uint32_t>();
    c.model = r.str();
    c.width = r.pod<int64_t>();
    c.height = r.pod<int64_t>();
    c.params = r.vec<double>();
    const int np = colmap_num_params(colmap_model_id(c.model));
    VG_CHECK(np >= 0 && static_cast<size_t>(np) == c.params.size(), "corrupt mapper cache ", file.string(),
             ": camera ", c.id, " model '", c.model, "' with ", c.params.size(), " parameters");
    in.camera_has_prior_focal[c.id] = r.pod<uint8_t>() != 0;
    in.cameras[c.id] = std::move(c);
  }
  for (uint64_t k = 0, n = r.count(16); k < n; ++k) {
    MapperImage im;
    im.name = r.str();
    im.camera_id = r.pod<uint32_t>();
    im.keypoints = r.vec<Eigen::Vector2d>();
    im.colors = r.vec<std::array<uint8_t, 3>>();
    VG_CHECK(im.colors.empty() || im.colors.size() == im.keypoints.size(), "corrupt mapper cache ", file.string(),
             ": ", im.colors.size(), " colours for ", im.keypoints.size(), " keypoints");
    VG_CHECK(in.cameras.count(im.camera_id), "corrupt mapper cache ", file.string(), ": unknown camera ", im.camera_id);
    in.images.push_back(std::move(im));
  }
  for (uint64_t k = 0, n = r.count(16); k < n; ++k) {
    const int i = r.pod<int>(), j = r.pod<int>();
    TwoViewGeometry tv;
    tv.config = r.pod<int>();
    tv.E = r.pod<Eigen::Matrix3d>();
    tv.F = r.pod<Eigen::Matrix3d>();
    tv.H = r.pod<Eigen::Matrix3d>();
    tv.cam2_from_cam1_q.coeffs() = r.pod<Eigen::Vector4d>();
    tv.cam2_from_cam1_t = r.pod<Eigen::Vector3d>();
    tv.tri_angle = r.pod<double>();
    tv.inlier_matches = r.vec<std::pair<int, int>>();
    const int n_images = static_cast<int>(in.images.size());
    VG_CHECK(0 <= i && i < j && j < n_images, "corrupt mapper cache ", file.string(), ": pair (", i, ", ", j,
             ") of ", n_images, " images");
    const auto ni = static_cast<int64_t>(in.images[i].keypoints.size());
    const auto nj = static_cast<int64_t>(in.images[j].keypoints.size());
    for (const auto& [a, b] : tv.inlier_matches)
      VG_CHECK(0 <= a && a < ni && 0 <= b && b < nj, "corrupt mapper cache ", file.string(), ": match (", a, ", ",
               b, ") of pair (", i, ", ", j, ") beyond the keypoints");
    in.pairs[{i, j}] = std::move(tv);
  }
  return in;
}

}  // namespace vg
