// Runs every registered op case on every backend against the CPU reference (see backend_ops.h).
// Without a usable GPU the CUDA comparisons are skipped; the cases still run on the CPU so a
// crashing reference is caught in CI.
#include <gtest/gtest.h>

#include <cstdio>

#include "backend_ops.h"
#include "test_util.h"

namespace vg::test {

std::vector<OpCase>& op_registry() {
  static std::vector<OpCase> r;
  return r;
}

namespace {

class BackendOps : public ::testing::TestWithParam<size_t> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BackendOps);

TEST_P(BackendOps, CudaMatchesCpu) {
  const OpCase& c = op_registry()[GetParam()];
  OpOutputs ref;
  try {
    ref = c.run(Device::cpu());
  } catch (const OpInputMissing& e) {
    GTEST_SKIP() << c.name << ": " << e.what();
  }
  ASSERT_FALSE(ref.empty()) << c.name;
  for (auto& [name, t] : ref) {
    for (float v : as_floats(t)) ASSERT_TRUE(std::isfinite(v)) << c.name << " CPU output " << name << " not finite";
  }
  if (!have_cuda()) GTEST_SKIP() << "no usable CUDA GPU: CPU reference ran alone";
  for (const GpuInfo& g : list_gpus()) {
    if (!g.supported) continue;
    OpOutputs got = c.run(Device::cuda(g.index));
    for (auto& [name, t] : ref) {
      ASSERT_TRUE(got.count(name)) << c.name << ": CUDA gave no output " << name;
      double err = rel_error(as_floats(got.at(name)), as_floats(t));
      std::printf("[backend-ops] %-48s %-14s cuda:%d rel_err %.3e\n", c.name.c_str(), name.c_str(), g.index, err);
      EXPECT_LE(err, c.tolerance) << c.name << " output " << name << " on cuda:" << g.index;
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<size_t>& info) {
  std::string s = op_registry()[info.param].name;
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(All, BackendOps, ::testing::Range<size_t>(0, op_registry().size()), case_name);

}  // namespace
}  // namespace vg::test
