// The fuzz targets' bodies, shared by the libFuzzer executables (fuzz/fuzz_main.cc, one per target) and the
// regression replay in the normal test suite (tests/fuzz_regressions_test.cc). Each body hands the bytes to one
// parser and swallows vg::Error: a clean one-line error is the right answer to bad input; anything else (another
// exception, a crash, a sanitizer report, a hang, a huge allocation) is a bug.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace vg::fuzz {

using TargetFn = void (*)(std::string_view bytes);

struct Target {
  const char* name;  // fuzz_<name> executable, tests/data/fuzz_regressions/<name>/
  TargetFn run;
};

// Every target of this build (video only with FFmpeg).
const std::vector<Target>& targets();
const Target* find_target(const std::string& name);

// Runs target `t` on `bytes`, returning whether it ended in a vg::Error (true, its message in *error) or parsed.
bool run_target(const Target& t, std::string_view bytes, std::string* error = nullptr);

// A per-process scratch folder (removed at exit) for parsers that only take paths.
const std::filesystem::path& scratch_dir();
// Writes `bytes` to scratch_dir()/rel (not atomic: scratch only) and returns the path.
std::filesystem::path scratch_file(const std::filesystem::path& rel, std::string_view bytes);

// Splits a fuzz input into the first byte (a selector) and the rest.
inline unsigned char selector(std::string_view& bytes) {
  if (bytes.empty()) return 0;
  const unsigned char s = static_cast<unsigned char>(bytes[0]);
  bytes.remove_prefix(1);
  return s;
}

// Target bodies (fuzz/targets_*.cc).
void image(std::string_view bytes);
void colmap_bin(std::string_view bytes);
void colmap_txt(std::string_view bytes);
void transforms(std::string_view bytes);
void strecha(std::string_view bytes);
void npy(std::string_view bytes);
void exif(std::string_view bytes);
void ply(std::string_view bytes);
void splat(std::string_view bytes);
void spz(std::string_view bytes);
void safetensors(std::string_view bytes);
void torch(std::string_view bytes);
void checkpoint(std::string_view bytes);
void mapper_cache(std::string_view bytes);
void video(std::string_view bytes);

}  // namespace vg::fuzz
