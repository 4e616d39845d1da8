#include "core/device.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "test_util.h"

namespace vg {
namespace {

TEST(Device, ParsesSpecs) {
  EXPECT_TRUE(resolve_device("cpu").is_cpu());
  EXPECT_THROW(resolve_device("gpu"), Error);
  EXPECT_THROW(resolve_device("cuda:x"), Error);
  EXPECT_THROW(resolve_device("cuda:"), Error);
  Device a = resolve_device("auto");
  EXPECT_EQ(a.is_cuda(), test::have_cuda());
}

TEST(Device, CudaWithoutGpuSaysWhy) {
  if (test::have_cuda()) GTEST_SKIP() << "a GPU is present";
  try {
    resolve_device("cuda:0");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("cuda"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--device cpu"), std::string::npos) << msg;
  }
}

TEST(Device, CompiledArchitecturesListed) {
  if (!cuda_compiled()) {
    EXPECT_EQ(cuda_archs_compiled(), "");
    return;
  }
  EXPECT_FALSE(cuda_archs_compiled().empty());
  for (const GpuInfo& g : list_gpus()) EXPECT_EQ(g.supported, g.reason.empty()) << g.name;
}

TEST(Device, OutOfRangeGpuIndex) {
  if (!test::have_cuda()) GTEST_SKIP() << "no usable CUDA GPU";
  EXPECT_THROW(resolve_device("cuda:99"), Error);
  EXPECT_TRUE(resolve_device("cuda").is_cuda());
}

}  // namespace
}  // namespace vg
