#include "splat/adam.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace vg {
namespace {

// Textbook Adam in double (Kingma & Ba, Algorithm 1, with torch's eps placement).
struct RefAdam {
  std::vector<double> p, m, v;
  long long t = 0;
  void step(const std::vector<float>& g, const AdamConfig& c) {
    ++t;
    double bc1 = 1 - std::pow(double(c.beta1), double(t)), bc2 = 1 - std::pow(double(c.beta2), double(t));
    for (size_t i = 0; i < p.size(); ++i) {
      m[i] = c.beta1 * m[i] + (1 - double(c.beta1)) * g[i];
      v[i] = c.beta2 * v[i] + (1 - double(c.beta2)) * double(g[i]) * g[i];
      p[i] -= c.lr / bc1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + c.eps);
    }
  }
};

void expect_close(const std::vector<float>& got, const std::vector<double>& want, double tol, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * std::max(1.0, std::abs(want[i]))) << what << "[" << i << "]";
}

void run_three_steps(const AdamConfig& cfg) {
  std::mt19937 rng(3);
  Tensor param = test::normal({4, 3}, 0.0f, 1.0f, rng);
  AdamState st = adam_init(param);
  RefAdam ref;
  for (float x : param.to_vector<float>()) ref.p.push_back(x);
  ref.m.assign(ref.p.size(), 0.0);
  ref.v.assign(ref.p.size(), 0.0);
  for (int s = 0; s < 3; ++s) {
    Tensor grad = test::normal({4, 3}, 0.0f, 0.5f, rng);
    adam_step(param, grad, st, cfg);
    ref.step(grad.to_vector<float>(), cfg);
  }
  EXPECT_EQ(st.step, 3);
  expect_close(param.to_vector<float>(), ref.p, 2e-6, "param");
  expect_close(st.exp_avg.to_vector<float>(), ref.m, 2e-6, "exp_avg");
  expect_close(st.exp_avg_sq.to_vector<float>(), ref.v, 2e-6, "exp_avg_sq");
}

TEST(Adam, ThreeStepsMatchDoubleReferenceTrainerEps) { run_three_steps({0.01f, 0.9f, 0.999f, 1e-15f}); }
TEST(Adam, ThreeStepsMatchDoubleReferenceLargeEps) { run_three_steps({0.05f, 0.8f, 0.99f, 1e-2f}); }

TEST(Adam, FirstStepIsSignTimesLr) {
  // t = 1: mhat = g, vhat = g^2, so the update is lr * sign(g) (eps negligible).
  Tensor p = Tensor::from_vector<float>({1.0f, -2.0f, 0.5f}, {3});
  Tensor g = Tensor::from_vector<float>({0.3f, -4.0f, 1e-3f}, {3});
  AdamState st = adam_init(p);
  adam_step(p, g, st, {0.1f, 0.9f, 0.999f, 1e-15f});
  auto v = p.to_vector<float>();
  EXPECT_NEAR(v[0], 0.9f, 1e-6);
  EXPECT_NEAR(v[1], -1.9f, 1e-6);
  EXPECT_NEAR(v[2], 0.4f, 1e-6);
}

TEST(Adam, ZeroGradientKeepsParameter) {
  Tensor p = Tensor::from_vector<float>({1.0f, 2.0f}, {2});
  AdamState st = adam_init(p);
  adam_step(p, Tensor::zeros({2}), st, {});
  EXPECT_EQ(p.to_vector<float>(), (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(st.step, 1);
}

TEST(Adam, RejectsMismatchedShapes) {
  Tensor p = Tensor::zeros({4, 3});
  AdamState st = adam_init(p);
  EXPECT_THROW(adam_step(p, Tensor::zeros({4, 2}), st, {}), Error);
  AdamState empty;
  EXPECT_THROW(adam_step(p, Tensor::zeros({4, 3}), empty, {}), Error);
  EXPECT_EQ(st.step, 0);
}

TEST(Adam, CudaMatchesCpu) {
  if (!test::have_cuda()) GTEST_SKIP() << "no usable CUDA GPU";
  std::mt19937 rng(5);
  Tensor p = test::normal({1000, 3}, 0.0f, 1.0f, rng);
  Tensor pc = p.to(Device::cuda());
  AdamState s = adam_init(p), sc = adam_init(pc);
  for (int i = 0; i < 3; ++i) {
    Tensor g = test::normal({1000, 3}, 0.0f, 1.0f, rng);
    adam_step(p, g, s, {});
    adam_step(pc, g.to(Device::cuda()), sc, {});
  }
  EXPECT_LE(test::rel_error(pc.to_vector<float>(), p.to_vector<float>()), 1e-6);
  EXPECT_LE(test::rel_error(sc.exp_avg_sq.to_vector<float>(), s.exp_avg_sq.to_vector<float>()), 1e-6);
}

}  // namespace
}  // namespace vg
