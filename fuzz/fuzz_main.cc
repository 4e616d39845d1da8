// One libFuzzer executable per target: fuzz/CMakeLists.txt compiles this with VGSPLAT_FUZZ_TARGET="<name>".
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/targets.h"

namespace {
const vg::fuzz::Target& target() {
  static const vg::fuzz::Target* t = vg::fuzz::find_target(VGSPLAT_FUZZ_TARGET);
  if (!t) {
    std::fprintf(stderr, "fuzz target %s is not in this build\n", VGSPLAT_FUZZ_TARGET);
    std::exit(2);
  }
  return *t;
}
}  // namespace

// VGSPLAT_FUZZ_VERBOSE=1: print each input's error (to see which inputs the parser accepts, e.g. the seeds).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool verbose = std::getenv("VGSPLAT_FUZZ_VERBOSE") != nullptr;
  std::string error;
  const bool failed = vg::fuzz::run_target(target(), std::string_view(reinterpret_cast<const char*>(data), size),
                                           verbose ? &error : nullptr);
  if (verbose) std::fprintf(stderr, "%s\n", failed ? error.c_str() : "parsed");
  return 0;
}
