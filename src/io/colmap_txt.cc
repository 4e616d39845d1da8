// COLMAP text model files: '#' comment lines, one record per line (images: two lines each).
#include <iomanip>
#include <sstream>
#include <string>

#include "core/error.h"
#include "core/fs.h"
#include "io/colmap.h"

namespace vg {

namespace {

// Lines of a text file with the record parser's context for error messages.
class LineReader {
 public:
  explicit LineReader(const std::filesystem::path& path) : path_(path), in_(read_file(path)) {}
  // Next non-empty, non-comment line; false at the end.
  bool next_record(std::string& line) {
    while (std::getline(in_, line)) {
      ++line_no_;
      strip(line);
      if (!line.empty() && line[0] != '#') return true;
    }
    return false;
  }
  // The line right after a record (may be empty: an image with no 2D points).
  std::string next_line() {
    std::string line;
    if (std::getline(in_, line)) ++line_no_;
    strip(line);
    return line;
  }
  [[noreturn]] void fail(const std::string& why) const {
    VG_FAIL("corrupt COLMAP file ", path_.string(), " line ", line_no_, ": ", why);
  }
  template <typename T>
  T field(std::istringstream& ls, const char* what) const {
    T v;
    if (!(ls >> v)) fail(std::string("cannot read ") + what);
    return v;
  }

 private:
  static void strip(std::string& s) {
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
    size_t b = s.find_first_not_of(" \t");
    s.erase(0, b == std::string::npos ? s.size() : b);
  }
  std::filesystem::path path_;
  std::istringstream in_;
  int line_no_ = 0;
};

void read_cameras(const std::filesystem::path& path, ColmapModel& m) {
  LineReader r(path);
  for (std::string line; r.next_record(line);) {
    std::istringstream ls(line);
    ColmapCamera c;
    c.id = r.field<uint32_t>(ls, "CAMERA_ID");
    c.model = r.field<std::string>(ls, "MODEL");
    c.width = r.field<int64_t>(ls, "WIDTH");
    c.height = r.field<int64_t>(ls, "HEIGHT");
    for (double p; ls >> p;) c.params.push_back(p);
    const int np = colmap_num_params(colmap_model_id(c.model));
    if (np >= 0 && static_cast<int>(c.params.size()) != np)
      r.fail(c.model + " needs " + std::to_string(np) + " params, got " + std::to_string(c.params.size()));
    m.cameras[c.id] = std::move(c);
  }
}

void read_images(const std::filesystem::path& path, ColmapModel& m) {
  LineReader r(path);
  for (std::string line; r.next_record(line);) {
    std::istringstream ls(line);
    ColmapImage im;
    im.id = r.field<uint32_t>(ls, "IMAGE_ID");
    for (double& q : im.qvec) q = r.field<double>(ls, "QVEC");
    for (double& t : im.tvec) t = r.field<double>(ls, "TVEC");
    im.camera_id = r.field<uint32_t>(ls, "CAMERA_ID");
    im.name = r.field<std::string>(ls, "NAME");
    std::istringstream ps(r.next_line());
    for (double x; ps >> x;) {
      im.xys.push_back(x);
      im.xys.push_back(r.field<double>(ps, "POINTS2D y"));
      im.point3D_ids.push_back(r.field<int64_t>(ps, "POINT3D_ID"));
    }
    if (!ps.eof()) r.fail("cannot read POINTS2D");
    m.images[im.id] = std::move(im);
  }
}

void read_points(const std::filesystem::path& path, ColmapModel& m) {
  LineReader r(path);
  for (std::string line; r.next_record(line);) {
    std::istringstream ls(line);
    ColmapPoint3D p;
    p.id = r.field<uint64_t>(ls, "POINT3D_ID");
    for (double& x : p.xyz) x = r.field<double>(ls, "XYZ");
    for (uint8_t& c : p.rgb) {
      const int v = r.field<int>(ls, "RGB");
      if (v < 0 || v > 255) r.fail("colour out of range");
      c = static_cast<uint8_t>(v);
    }
    p.error = r.field<double>(ls, "ERROR");
    for (uint32_t image_id; ls >> image_id;) p.track.emplace_back(image_id, r.field<uint32_t>(ls, "TRACK"));
    if (!ls.eof()) r.fail("cannot read TRACK");
    m.points[p.id] = std::move(p);
  }
}

std::ostringstream text_stream() {
  std::ostringstream os;
  os << std::setprecision(17);
  return os;
}

}  // namespace

ColmapModel read_colmap_txt(const std::filesystem::path& dir) {
  ColmapModel m;
  read_cameras(dir / "cameras.txt", m);
  read_images(dir / "images.txt", m);
  read_points(dir / "points3D.txt", m);
  return m;
}

void write_colmap_txt(const std::filesystem::path& dir, const ColmapModel& m) {
  auto cams = text_stream();
  cams << "# Camera list with one line of data per camera:\n#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n"
       << "# Number of cameras: " << m.cameras.size() << "\n";
  for (const auto& [id, c] : m.cameras) {
    cams << c.id << ' ' << c.model << ' ' << c.width << ' ' << c.height;
    for (double p : c.params) cams << ' ' << p;
    cams << '\n';
  }
  auto ims = text_stream();
  ims << "# Image list with two lines of data per image:\n"
      << "#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n#   POINTS2D[] as (X, Y, POINT3D_ID)\n"
      << "# Number of images: " << m.images.size() << "\n";
  for (const auto& [id, im] : m.images) {
    VG_CHECK(im.xys.size() == 2 * im.point3D_ids.size(), "cannot write ", (dir / "images.txt").string(),
             ": image ", id, " has ", im.xys.size(), " xy values for ", im.point3D_ids.size(), " points");
    VG_CHECK(!im.name.empty() && im.name.find_first_of(" \t\n") == std::string::npos, "cannot write ",
             (dir / "images.txt").string(), ": image name '", im.name, "' is empty or has white space");
    ims << im.id;
    for (double q : im.qvec) ims << ' ' << q;
    for (double t : im.tvec) ims << ' ' << t;
    ims << ' ' << im.camera_id << ' ' << im.name << '\n';
    for (size_t k = 0; k < im.point3D_ids.size(); ++k)
      ims << (k ? " " : "") << im.xys[2 * k] << ' ' << im.xys[2 * k + 1] << ' ' << im.point3D_ids[k];
    ims << '\n';
  }
  auto pts = text_stream();
  pts << "# 3D point list with one line of data per point:\n"
      << "#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)\n"
      << "# Number of points: " << m.points.size() << "\n";
  for (const auto& [id, p] : m.points) {
    pts << p.id << ' ' << p.xyz[0] << ' ' << p.xyz[1] << ' ' << p.xyz[2] << ' ' << int(p.rgb[0]) << ' '
        << int(p.rgb[1]) << ' ' << int(p.rgb[2]) << ' ' << p.error;
    for (const auto& [image_id, idx] : p.track) pts << ' ' << image_id << ' ' << idx;
    pts << '\n';
  }
  write_file_atomic(dir / "cameras.txt", cams.str());
  write_file_atomic(dir / "images.txt", ims.str());
  write_file_atomic(dir / "points3D.txt", pts.str());
}

}  // namespace vg
