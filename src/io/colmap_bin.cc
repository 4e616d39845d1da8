// COLMAP binary model files: little-endian, counts as uint64, camera model as int32 id.
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/fs.h"
#include "io/colmap.h"

namespace vg {

namespace {

// Reads fixed-size values from a file's bytes; running past the end names the file.
class Reader {
 public:
  explicit Reader(const std::filesystem::path& path) : path_(path), bytes_(read_file(path)) {}
  template <typename T>
  T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string cstring() {
    const size_t end = bytes_.find('\0', pos_);
    VG_CHECK(end != std::string::npos, "truncated COLMAP file ", path_.string(), ": unterminated name");
    std::string s = bytes_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  // A count of items of at least `item_bytes` each: checked against what is left, so a corrupt
  // count fails here instead of allocating terabytes.
  uint64_t count(size_t item_bytes) {
    const uint64_t n = get<uint64_t>();
    VG_CHECK(item_bytes == 0 || n <= (bytes_.size() - pos_) / item_bytes, "truncated COLMAP file ", path_.string(),
             ": count ", n, " exceeds the file size");
    return n;
  }
  void finish() const {
    VG_CHECK(pos_ == bytes_.size(), "corrupt COLMAP file ", path_.string(), ": ", bytes_.size() - pos_,
             " trailing bytes");
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  void need(size_t n) const {
    VG_CHECK(pos_ + n <= bytes_.size(), "truncated COLMAP file ", path_.string(), " (", bytes_.size(), " bytes)");
  }
  std::filesystem::path path_;
  std::string bytes_;
  size_t pos_ = 0;
};

class Writer {
 public:
  template <typename T>
  void put(T v) {
    out_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void cstring(const std::string& s) { out_.append(s.c_str(), s.size() + 1); }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

void read_cameras(Reader& r, ColmapModel& m) {
  const uint64_t n = r.count(24);
  for (uint64_t i = 0; i < n; ++i) {
    ColmapCamera c;
    c.id = r.get<uint32_t>();
    const int model = r.get<int32_t>();
    const int np = colmap_num_params(model);
    VG_CHECK(np >= 0, "corrupt COLMAP file ", r.path().string(), ": unknown camera model id ", model);
    c.model = colmap_model_name(model);
    c.width = static_cast<int64_t>(r.get<uint64_t>());
    c.height = static_cast<int64_t>(r.get<uint64_t>());
    for (int k = 0; k < np; ++k) c.params.push_back(r.get<double>());
    m.cameras[c.id] = std::move(c);
  }
  r.finish();
}

void read_images(Reader& r, ColmapModel& m) {
  const uint64_t n = r.count(64);
  for (uint64_t i = 0; i < n; ++i) {
    ColmapImage im;
    im.id = r.get<uint32_t>();
    for (double& q : im.qvec) q = r.get<double>();
    for (double& t : im.tvec) t = r.get<double>();
    im.camera_id = r.get<uint32_t>();
    im.name = r.cstring();
    const uint64_t np = r.count(24);
    im.xys.resize(2 * np);
    im.point3D_ids.resize(np);
    for (uint64_t k = 0; k < np; ++k) {
      im.xys[2 * k] = r.get<double>();
      im.xys[2 * k + 1] = r.get<double>();
      im.point3D_ids[k] = r.get<int64_t>();  // uint64 max == -1: no 3D point
    }
    m.images[im.id] = std::move(im);
  }
  r.finish();
}

void read_points(Reader& r, ColmapModel& m) {
  const uint64_t n = r.count(51);
  for (uint64_t i = 0; i < n; ++i) {
    ColmapPoint3D p;
    p.id = r.get<uint64_t>();
    for (double& x : p.xyz) x = r.get<double>();
    for (uint8_t& c : p.rgb) c = r.get<uint8_t>();
    p.error = r.get<double>();
    const uint64_t len = r.count(8);
    p.track.resize(len);
    for (auto& [image_id, idx] : p.track) {
      image_id = r.get<uint32_t>();
      idx = r.get<uint32_t>();
    }
    m.points[p.id] = std::move(p);
  }
  r.finish();
}

}  // namespace

ColmapModel read_colmap_bin(const std::filesystem::path& dir) {
  ColmapModel m;
  Reader cams(dir / "cameras.bin");
  read_cameras(cams, m);
  Reader ims(dir / "images.bin");
  read_images(ims, m);
  Reader pts(dir / "points3D.bin");
  read_points(pts, m);
  return m;
}

void write_colmap_bin(const std::filesystem::path& dir, const ColmapModel& m) {
  Writer cams;
  cams.put<uint64_t>(m.cameras.size());
  for (const auto& [id, c] : m.cameras) {
    const int model = colmap_model_id(c.model);
    VG_CHECK(model >= 0 && static_cast<int>(c.params.size()) == colmap_num_params(model), "cannot write ",
             (dir / "cameras.bin").string(), ": camera ", id, " model ", c.model, " with ", c.params.size(),
             " params");
    cams.put<uint32_t>(c.id);
    cams.put<int32_t>(model);
    cams.put<uint64_t>(static_cast<uint64_t>(c.width));
    cams.put<uint64_t>(static_cast<uint64_t>(c.height));
    for (double p : c.params) cams.put(p);
  }
  Writer ims;
  ims.put<uint64_t>(m.images.size());
  for (const auto& [id, im] : m.images) {
    VG_CHECK(im.xys.size() == 2 * im.point3D_ids.size(), "cannot write ", (dir / "images.bin").string(),
             ": image ", id, " has ", im.xys.size(), " xy values for ", im.point3D_ids.size(), " points");
    ims.put<uint32_t>(im.id);
    for (double q : im.qvec) ims.put(q);
    for (double t : im.tvec) ims.put(t);
    ims.put<uint32_t>(im.camera_id);
    ims.cstring(im.name);
    ims.put<uint64_t>(im.point3D_ids.size());
    for (size_t k = 0; k < im.point3D_ids.size(); ++k) {
      ims.put(im.xys[2 * k]);
      ims.put(im.xys[2 * k + 1]);
      ims.put<int64_t>(im.point3D_ids[k]);
    }
  }
  Writer pts;
  pts.put<uint64_t>(m.points.size());
  for (const auto& [id, p] : m.points) {
    pts.put<uint64_t>(p.id);
    for (double x : p.xyz) pts.put(x);
    for (uint8_t c : p.rgb) pts.put(c);
    pts.put(p.error);
    pts.put<uint64_t>(p.track.size());
    for (const auto& [image_id, idx] : p.track) {
      pts.put<uint32_t>(image_id);
      pts.put<uint32_t>(idx);
    }
  }
  write_file_atomic(dir / "cameras.bin", cams.bytes());
  write_file_atomic(dir / "images.bin", ims.bytes());
  write_file_atomic(dir / "points3D.bin", pts.bytes());
}

}  // namespace vg
