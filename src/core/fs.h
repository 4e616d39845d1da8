// File-system helpers: atomic writes (temp file in the same folder, then rename) so a crash or a
// full disk never leaves a half-written result, and whole-file reads with clear errors.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace vg {

namespace fs = std::filesystem;

// Writes `bytes` to `path` atomically; creates parent folders.
void write_file_atomic(const fs::path& path, std::string_view bytes);
// Reads a whole file; throws vg::Error "cannot read <path>: <reason>".
std::string read_file(const fs::path& path);

// The canonical form of a path that may not exist yet (its existing prefix resolved).
fs::path canonical_loose(const fs::path& p);
// p is dir or lies inside it (both canonical).
bool same_or_inside(const fs::path& p, const fs::path& dir);

// mkdir that fails when `dir` exists (false then; other errors throw): claims a folder name among
// processes racing for it. The parent must exist.
bool create_directory_exclusive(const fs::path& dir);
// rename(2) that never replaces an existing `to` (false then; other errors throw).
bool rename_no_replace(const fs::path& from, const fs::path& to);
// Whether process `pid` exists on this machine (kill(pid, 0)).
bool process_alive(int pid);
// "cannot write <path>: <reason of errno>", with a hint when the disk or the file-size limit is full.
std::string write_error(const fs::path& path, int err);

// Removes the temp files of AtomicFile in `dir` that a killed process left (its pid no longer runs).
void remove_stale_temp_files(const fs::path& dir);

// Writes through a temp file beside `path`; commit() renames it into place. If the object dies
// without commit() the temp file is removed and `path` is untouched.
class AtomicFile {
 public:
  explicit AtomicFile(fs::path path);
  ~AtomicFile();
  const fs::path& temp_path() const { return tmp_; }
  void commit();

 private:
  fs::path path_, tmp_;
  bool done_ = false;
};

}  // namespace vg
