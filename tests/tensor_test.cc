#include "core/tensor.h"

#include <gtest/gtest.h>

#include "core/cuda_memory.h"
#include "test_util.h"

namespace vg {
namespace {

TEST(Tensor, ShapeAndRoundTrip) {
  Tensor t = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.size(-1), 3);
  EXPECT_EQ(t.to_vector<float>()[4], 5.f);
  Tensor r = t.reshape({3, 2});
  EXPECT_EQ(r.data<float>(), t.data<float>());  // shares storage
  EXPECT_THROW(t.reshape({4, 2}), Error);
  EXPECT_THROW(t.data<int32_t>(), Error);
  EXPECT_THROW(t.item(), Error);
  EXPECT_TRUE(t.defined());
  EXPECT_FALSE(Tensor().defined());
}

TEST(Tensor, ZerosCloneAndExpect) {
  Tensor z = Tensor::zeros({4}, DType::I32);
  for (int v : z.to_vector<int32_t>()) EXPECT_EQ(v, 0);
  Tensor f = Tensor::full({2, 2}, 1.5f);
  Tensor c = f.clone();
  c.data<float>()[0] = 7;
  EXPECT_EQ(f.to_vector<float>()[0], 1.5f);
  EXPECT_NO_THROW(f.expect("f", {2, -1}));
  EXPECT_THROW(f.expect("f", {3, 2}), Error);
  Tensor empty = Tensor::empty({0, 3});
  EXPECT_TRUE(empty.defined());
  EXPECT_EQ(empty.numel(), 0);
}

TEST(Tensor, CudaRoundTripWhenAvailable) {
  if (!test::have_cuda()) GTEST_SKIP() << "no usable CUDA GPU";
  Tensor h = Tensor::from_vector<float>({1, 2, 3}, {3});
  Tensor d = h.to(Device::cuda(0));
  EXPECT_TRUE(d.is_cuda());
  Tensor d2 = d.clone();
  EXPECT_EQ(d2.to(Device::cpu()).to_vector<float>(), h.to_vector<float>());
  d2.zero_();
  EXPECT_EQ(d2.to_vector<float>()[2], 0.f);
  EXPECT_GT(cuda_peak_memory(0), 0u);
}

TEST(Tensor, CudaWithoutGpuIsAClearError) {
  if (test::have_cuda()) GTEST_SKIP() << "a GPU is present";
  EXPECT_THROW(Tensor::empty({4}, DType::F32, Device::cuda(0)), Error);
}

}  // namespace
}  // namespace vg
