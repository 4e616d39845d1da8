// Replays every input the fuzzers once crashed on (tests/data/fuzz_regressions/<target>/<file>) through the
// same target bodies as the libFuzzer executables (fuzz/targets.h), in the normal CPU suite: each must end in
// a clean vg::Error or a successful parse; any other exception fails here, a crash kills the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/fs.h"
#include "fuzz/targets.h"

namespace vg {
namespace {

fs::path regressions_dir() { return fs::path(VGSPLAT_SOURCE_DIR) / "tests" / "data" / "fuzz_regressions"; }

std::vector<fs::path> inputs_of(const std::string& target) {
  std::vector<fs::path> files;
  const fs::path dir = regressions_dir() / target;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(FuzzRegressions, EveryFolderNamesATarget) {
  std::set<std::string> names = {"video"};  // video's target exists only in builds with FFmpeg
  for (const auto& t : fuzz::targets()) names.insert(t.name);
  for (const auto& e : fs::directory_iterator(regressions_dir()))
    if (e.is_directory()) EXPECT_TRUE(names.count(e.path().filename().string())) << e.path();
}

TEST(FuzzRegressions, InputsEndInACleanErrorOrAParse) {
  int replayed = 0;
  for (const auto& t : fuzz::targets()) {
    for (const fs::path& f : inputs_of(t.name)) {
      SCOPED_TRACE(f.string());
      const std::string bytes = read_file(f);
      EXPECT_NO_THROW(fuzz::run_target(t, bytes));
      ++replayed;
    }
  }
  RecordProperty("replayed", replayed);
}

// The bodies on trivial inputs (the harness's own edge cases; an empty .splat is a valid empty model).
TEST(FuzzRegressions, EmptyAndTinyInputs) {
  for (const auto& t : fuzz::targets()) {
    SCOPED_TRACE(t.name);
    EXPECT_NO_THROW(fuzz::run_target(t, ""));
    EXPECT_NO_THROW(fuzz::run_target(t, std::string(1, '\0')));
    EXPECT_NO_THROW(fuzz::run_target(t, std::string(64, '\xff')));
  }
}

}  // namespace
}  // namespace vg
