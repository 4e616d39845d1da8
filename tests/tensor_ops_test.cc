#include "core/tensor_ops.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace vg {
namespace {

Tensor ids(std::vector<int32_t> v, Device d = Device::cpu()) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}, d);
}

std::vector<Device> devices() {
  std::vector<Device> d{Device::cpu()};
  if (test::have_cuda()) d.push_back(Device::cuda());
  return d;
}

TEST(TensorOps, IndexSelectRowsEveryDtype) {
  for (Device d : devices()) {
    Tensor f = Tensor::from_vector<float>({0, 1, 2, 10, 11, 12, 20, 21, 22}, {3, 3}, d);
    Tensor out = index_select_rows(f, ids({2, 0, 2}, d));
    EXPECT_EQ(out.shape(), (Shape{3, 3}));
    EXPECT_EQ(out.to_vector<float>(), (std::vector<float>{20, 21, 22, 0, 1, 2, 20, 21, 22}));

    Tensor i = Tensor::from_vector<int32_t>({5, 6, 7, 8}, {4}, d);
    EXPECT_EQ(index_select_rows(i, ids({3, 1}, d)).to_vector<int32_t>(), (std::vector<int32_t>{8, 6}));

    Tensor l = Tensor::from_vector<int64_t>({1, 2, 3, 4, 5, 6}, {3, 2}, d);
    EXPECT_EQ(index_select_rows(l, ids({1}, d)).to_vector<int64_t>(), (std::vector<int64_t>{3, 4}));

    Tensor u = Tensor::from_vector<uint8_t>({1, 2, 3, 4, 5, 6}, {2, 3}, d);  // 3-byte rows
    EXPECT_EQ(index_select_rows(u, ids({1, 1, 0}, d)).to_vector<uint8_t>(),
              (std::vector<uint8_t>{4, 5, 6, 4, 5, 6, 1, 2, 3}));

    Tensor sh = Tensor::zeros({4, 0, 3}, DType::F32, d);  // degree-0 shN: rows of no elements
    EXPECT_EQ(index_select_rows(sh, ids({0, 3}, d)).shape(), (Shape{2, 0, 3}));
    EXPECT_EQ(index_select_rows(f, ids({}, d)).shape(), (Shape{0, 3}));
  }
}

TEST(TensorOps, IndexSelectRowsRejectsBadIds) {
  Tensor f = Tensor::zeros({3, 2});
  EXPECT_THROW(index_select_rows(f, ids({3})), Error);
  EXPECT_THROW(index_select_rows(f, ids({-1})), Error);
  EXPECT_THROW(index_select_rows(f, Tensor::zeros({2}, DType::I64)), Error);
}

TEST(TensorOps, CatRows) {
  for (Device d : devices()) {
    Tensor a = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2}, d);
    Tensor b = Tensor::from_vector<float>({5, 6}, {1, 2}, d);
    Tensor c = cat_rows(a, b);
    EXPECT_EQ(c.shape(), (Shape{3, 2}));
    EXPECT_EQ(c.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(cat_rows(Tensor::zeros({0, 2}, DType::F32, d), b).to_vector<float>(), (std::vector<float>{5, 6}));
    Tensor u = cat_rows(Tensor::from_vector<uint8_t>({1}, {1}, d), Tensor::from_vector<uint8_t>({2, 3}, {2}, d));
    EXPECT_EQ(u.to_vector<uint8_t>(), (std::vector<uint8_t>{1, 2, 3}));
  }
}

TEST(TensorOps, CatRowsRejectsMismatch) {
  EXPECT_THROW(cat_rows(Tensor::zeros({2, 3}), Tensor::zeros({2, 2})), Error);
  EXPECT_THROW(cat_rows(Tensor::zeros({2, 3}), Tensor::zeros({2, 3}, DType::I32)), Error);
  EXPECT_THROW(cat_rows(Tensor::zeros({2, 3}), Tensor::zeros({6})), Error);
}

TEST(TensorOps, FillAndClampMax) {
  for (Device d : devices()) {
    Tensor t = Tensor::zeros({2, 3}, DType::F32, d);
    fill_(t, 2.5f);
    EXPECT_EQ(t.to_vector<float>(), std::vector<float>(6, 2.5f));
    Tensor c = Tensor::from_vector<float>({-3, 0, 1, 4}, {4}, d);
    clamp_max_(c, 0.5f);
    EXPECT_EQ(c.to_vector<float>(), (std::vector<float>{-3, 0, 0.5f, 0.5f}));
  }
  Tensor i = Tensor::zeros({2}, DType::I32);
  EXPECT_THROW(fill_(i, 1.0f), Error);
}

TEST(TensorOps, Axpy) {
  for (Device d : devices()) {
    Tensor y = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2}, d);
    axpy_(y, 0.5f, Tensor::from_vector<float>({2, -4, 0, 8}, {2, 2}, d));
    EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{2, 0, 3, 8}));
  }
  Tensor y = Tensor::zeros({4});
  EXPECT_THROW(axpy_(y, 1.0f, Tensor::zeros({2, 2})), Error);
  EXPECT_THROW(axpy_(y, 1.0f, Tensor::zeros({4}, DType::I32)), Error);
}

}  // namespace
}  // namespace vg
