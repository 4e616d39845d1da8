#include "core/fs.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "core/error.h"

namespace vg {
namespace {

fs::path temp_dir(const char* name) {
  fs::path d = fs::temp_directory_path() / (std::string("vgsplat_fs_test_") + name + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(Fs, AtomicWriteCreatesParentsAndReplaces) {
  fs::path d = temp_dir("a");
  write_file_atomic(d / "x/y/z.txt", "hello");
  EXPECT_EQ(read_file(d / "x/y/z.txt"), "hello");
  write_file_atomic(d / "x/y/z.txt", "bye");
  EXPECT_EQ(read_file(d / "x/y/z.txt"), "bye");
  int files = 0;
  for (auto& e : fs::directory_iterator(d / "x/y")) files += e.is_regular_file();
  EXPECT_EQ(files, 1);  // no temp files left behind
  fs::remove_all(d);
}

TEST(Fs, UncommittedAtomicFileLeavesTargetUntouched) {
  fs::path d = temp_dir("b");
  write_file_atomic(d / "keep.txt", "original");
  {
    AtomicFile f(d / "keep.txt");
    std::ofstream(f.temp_path()) << "partial";
  }  // no commit: simulated failure
  EXPECT_EQ(read_file(d / "keep.txt"), "original");
  int files = 0;
  for (auto& e : fs::directory_iterator(d)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  fs::remove_all(d);
}

TEST(Fs, MissingFileIsAClearError) {
  try {
    read_file("/nonexistent/vgsplat/file.bin");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/vgsplat/file.bin"), std::string::npos);
  }
}

}  // namespace
}  // namespace vg
