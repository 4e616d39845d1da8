#include "core/fs.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
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

std::string write_error(const fs::path& path, int err) {
  std::string msg = "cannot write " + path.string() + ": " + (err ? std::strerror(err) : "write failed");
  if (err == ENOSPC || err == EDQUOT) msg += " (the disk is full: free some space or write elsewhere; earlier files are intact)";
  if (err == EFBIG) msg += " (over the file-size limit, ulimit -f; earlier files are intact)";
  return msg;
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  AtomicFile f(path);
  // POSIX I/O rather than a stream: the errno of a failed write (ENOSPC, EFBIG) reaches the message.
  const int fd = ::open(f.temp_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(write_error(path, errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      ::close(fd);
      throw Error(write_error(path, err));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) throw Error(write_error(path, errno));
  f.commit();
}

bool create_directory_exclusive(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0777) == 0) return true;
  VG_CHECK(errno == EEXIST, "cannot create ", dir.string(), ": ", std::strerror(errno));
  return false;
}

bool rename_no_replace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  if (errno == EINVAL || errno == ENOSYS) {  // a file system without RENAME_NOREPLACE: check, then rename
    if (fs::exists(to)) return false;
    if (::rename(from.c_str(), to.c_str()) == 0) return true;
  }
  VG_CHECK(errno == EEXIST || errno == ENOTEMPTY, "cannot rename ", from.string(), " to ", to.string(), ": ",
           std::strerror(errno));
  return false;
}

void remove_stale_temp_files(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();  // .tmp.<name>.<pid>.<counter>
    const size_t last = n.rfind('.'), prev = last == std::string::npos || last == 0 ? std::string::npos : n.rfind('.', last - 1);
    if (n.rfind(".tmp.", 0) != 0 || prev == std::string::npos || prev < 4) continue;
    const std::string pid = n.substr(prev + 1, last - prev - 1);
    if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (!process_alive(std::stoi(pid))) fs::remove(e.path(), ec);
  }
}

bool process_alive(int pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

std::string read_file(const fs::path& path) {
  std::ifstream is(path, std::ios::binary);
  VG_CHECK(is, "cannot read ", path.string(), ": ", std::strerror(errno));
  std::string s((std::istreambuf_iterator<char>(is)), std::istreambuf_iterator<char>());
  VG_CHECK(!is.bad(), "cannot read ", path.string(), ": read error");
  return s;
}

}  // namespace vg
