#include "core/fs.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/error.h"

namespace vg {

namespace {
fs::path temp_name(const fs::path& path) {
  static std::atomic<int> counter{0};
  return path.parent_path() / (".tmp." + path.filename().string() + "." + std::to_string(getpid()) + "." +
                               std::to_string(counter++));
}
}  // namespace

fs::path canonical_loose(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(fs::absolute(p), ec);
  return ec ? fs::absolute(p).lexically_normal() : c;
}

bool same_or_inside(const fs::path& p, const fs::path& dir) {
  const fs::path rel = p.lexically_relative(dir);
  return !rel.empty() && *rel.begin() != "..";
}

AtomicFile::AtomicFile(fs::path path) : path_(std::move(path)), tmp_(temp_name(path_)) {
  if (!path_.parent_path().empty()) fs::create_directories(path_.parent_path());
}

AtomicFile::~AtomicFile() {
  if (!done_) {
    std::error_code ec;
    fs::remove(tmp_, ec);
  }
}

void AtomicFile::commit() {
  std::error_code ec;
  fs::rename(tmp_, path_, ec);
  VG_CHECK(!ec, "cannot write ", path_.string(), ": ", ec.message());
  done_ = true;
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  AtomicFile f(path);
  {
    std::ofstream os(f.temp_path(), std::ios::binary);
    VG_CHECK(os, "cannot write ", path.string(), ": ", std::strerror(errno));
    os.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    os.flush();
    VG_CHECK(os.good(), "cannot write ", path.string(), ": write failed (disk full?)");
  }
  f.commit();
}

std::string read_file(const fs::path& path) {
  std::ifstream is(path, std::ios::binary);
  VG_CHECK(is, "cannot read ", path.string(), ": ", std::strerror(errno));
  std::string s((std::istreambuf_iterator<char>(is)), std::istreambuf_iterator<char>());
  VG_CHECK(!is.bad(), "cannot read ", path.string(), ": read error");
  return s;
}

}  // namespace vg
