// Backend-op cases for SIFT and matching. Keypoint sets of two implementations cannot be compared
// element-wise (a keypoint at a threshold may exist in one only), so each SIFT case outputs agreement
// fractions against the CPU reference (cached): of the 500 largest-scale keypoints of the device's run,
// `found` = share with a CPU keypoint within 0.5 px (scale within 10%, orientation within 0.2 rad), and
// `desc` = share of those whose descriptors have dot > 0.95. On the CPU both are 1; the tolerance 0.03
// on the relative L2 error of (found, desc) therefore requires about >= 97% on CUDA. Matching is exact
// (integer dot products), so its case compares the match lists with tolerance 0.
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "features/matching.h"
#include "features/sift.h"
#include "tests/backend_ops.h"
#include "tests/features_util.h"
#include "tests/test_util.h"

namespace vg::test {
namespace {

constexpr int kCompared = 500;

const FeatureSet& cpu_reference(const std::string& key, const Image& img, const SiftOptions& opt) {
  static std::map<std::string, std::unique_ptr<FeatureSet>> cache;
  auto& slot = cache[key];
  if (!slot) slot = std::make_unique<FeatureSet>(extract_sift(img, opt, Device::cpu()));
  return *slot;
}

OpOutputs run_sift(Device d, const std::string& key, const Image& img, const SiftOptions& opt) {
  const FeatureSet& ref = cpu_reference(key, img, opt);
  FeatureSet got = d.is_cpu() ? ref : extract_sift(img, opt, d);
  KeypointAgreement a = compare_features(got, ref, kCompared, 0.5, 0.95);
  std::printf("[features-ops] %s on %s: %zu keypoints (CPU %zu), found %.4f, desc %.4f\n", key.c_str(),
              d.str().c_str(), got.keypoints.size(), ref.keypoints.size(), a.found, a.desc_ok);
  std::vector<float> v = {static_cast<float>(a.found), static_cast<float>(a.desc_ok)};
  std::vector<float> count = {static_cast<float>(got.keypoints.size()) / ref.keypoints.size()};
  return {{"agreement", Tensor::from_vector(v, {2})}, {"count_ratio", Tensor::from_vector(count, {1})}};
}

// Random RootSIFT-like descriptors: d2 holds noisy copies of half of d1 plus distractors.
OpOutputs run_match(Device d, int n1, int n2, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u(0, 60), noise(-6, 6);
  SiftDescriptors d1(n1, 128), d2(n2, 128);
  for (int i = 0; i < n1; ++i)
    for (int k = 0; k < 128; ++k) d1(i, k) = static_cast<uint8_t>(u(rng));
  for (int i = 0; i < n2; ++i)
    for (int k = 0; k < 128; ++k)
      d2(i, k) = static_cast<uint8_t>(i % 2 == 0 && i / 2 < n1 ? std::clamp(d1(i / 2, k) + noise(rng), 0, 255) : u(rng));
  FeatureMatches m = match_descriptors(d1, d2, MatchOptions{}, d);
  std::vector<int32_t> flat;
  for (auto [i, j] : m) flat.insert(flat.end(), {i, j});
  flat.push_back(static_cast<int32_t>(m.size()));
  return {{"matches", Tensor::from_vector(flat, {static_cast<int64_t>(flat.size())})}};
}

RegisterOps reg([](std::vector<OpCase>& cases) {
  cases.push_back({"sift/textured_320x240", [](Device d) {
                     static const Image img = textured_image(320, 240, 7);
                     return run_sift(d, "textured", img, SiftOptions{});
                   }, 0.03});
  cases.push_back({"sift/fountain0000_768", [](Device d) {
                     const std::filesystem::path file = data_dir() / "strecha/fountain-P11/images/0000.jpg";
                     if (!std::filesystem::exists(file)) throw OpInputMissing(file.string() + " not found (set VGSPLAT_DATA)");
                     static const Image img = read_image(file);
                     SiftOptions opt;
                     opt.max_image_size = 768;
                     return run_sift(d, "fountain", img, opt);
                   }, 0.03});
  cases.push_back({"match/brute_force_3000x2500", [](Device d) { return run_match(d, 3000, 2500, 5); }, 0.0});
  cases.push_back({"match/brute_force_37x1", [](Device d) { return run_match(d, 37, 1, 6); }, 0.0});
});

}  // namespace
}  // namespace vg::test
