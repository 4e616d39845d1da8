// Bundle-adjustment problem files: a synthetic problem and non-default options survive write + read
// bit for bit (the same BA result), rewriting replaces the folder, and bad folders / fields are clear errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "sfm/bundle_adjustment_synthetic.h"
#include "sfm/bundle_problem_io.h"
#include "tests/colmap_model_eq.h"

namespace vg {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("vgsplat_ba_problem_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

BundleOptions unusual_options() {
  BundleOptions o;
  o.loss = BundleOptions::Loss::SoftL1;
  o.loss_scale = 1.5;
  o.max_iterations = 37;
  o.function_tolerance = 1e-9;
  o.gradient_tolerance = 1e-12;
  o.parameter_tolerance = 3e-7;
  o.refine_focal = false;
  o.refine_principal_point = true;
  o.refine_extra_params = false;
  o.constant_poses = {1, 4};
  o.constant_cameras = {2, 7};
  o.fix_gauge_automatically = false;
  o.constant_points = true;
  o.device = Device::cuda(1);  // neither device nor verbose is stored
  o.verbose = true;
  return o;
}

void expect_same_options(const BundleOptions& a, const BundleOptions& b) {
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(a.loss_scale, b.loss_scale);
  EXPECT_EQ(a.max_iterations, b.max_iterations);
  EXPECT_EQ(a.function_tolerance, b.function_tolerance);
  EXPECT_EQ(a.gradient_tolerance, b.gradient_tolerance);
  EXPECT_EQ(a.parameter_tolerance, b.parameter_tolerance);
  EXPECT_EQ(a.refine_focal, b.refine_focal);
  EXPECT_EQ(a.refine_principal_point, b.refine_principal_point);
  EXPECT_EQ(a.refine_extra_params, b.refine_extra_params);
  EXPECT_EQ(a.constant_poses, b.constant_poses);
  EXPECT_EQ(a.constant_cameras, b.constant_cameras);
  EXPECT_EQ(a.fix_gauge_automatically, b.fix_gauge_automatically);
  EXPECT_EQ(a.constant_points, b.constant_points);
}

TEST(BundleProblemIo, ProblemRoundTripsAndSolvesIdentically) {
  BaSceneOptions so;
  so.camera_model = "OPENCV";
  so.shared_camera = true;
  so.visibility = 0.6;
  so.outlier_fraction = 0.03;
  const ColmapModel m = perturb_ba_scene(make_ba_scene(so), 2.0, 0.1, 0.05, 0.03, 21);
  BundleOptions opt;
  opt.loss = BundleOptions::Loss::Huber;
  opt.loss_scale = 2.0;
  const fs::path d = temp_dir("rt");
  write_bundle_problem(d, m, opt);
  for (const char* f : {"cameras.bin", "images.bin", "points3D.bin", "ba_options.json"}) EXPECT_TRUE(fs::exists(d / f));
  auto [m2, opt2] = read_bundle_problem(d);
  test::expect_same_model(m, m2);
  expect_same_options(opt, opt2);
  EXPECT_EQ(reprojection_cost(m, opt), reprojection_cost(m2, opt2));
  ColmapModel a = m;
  const BundleSummary sa = bundle_adjust(a, opt), sb = bundle_adjust(m2, opt2);
  EXPECT_EQ(sa.final_cost, sb.final_cost);
  EXPECT_EQ(sa.iterations, sb.iterations);
  fs::remove_all(d);
}

TEST(BundleProblemIo, RewriteReplacesTheFolderAndLeavesNoTemporaries) {
  const fs::path d = temp_dir("rewrite");
  const ColmapModel small = make_ba_scene({}), other = make_ba_scene({.num_images = 4, .seed = 3});
  write_bundle_problem(d, small, {});
  std::ofstream(d / "stale.txt") << "old";
  write_bundle_problem(d, other, unusual_options());
  EXPECT_FALSE(fs::exists(d / "stale.txt"));
  auto [m, opt] = read_bundle_problem(d);
  test::expect_same_model(other, m);
  expect_same_options(unusual_options(), opt);
  EXPECT_TRUE(opt.device.is_cpu());
  EXPECT_FALSE(opt.verbose);
  for (const auto& e : fs::directory_iterator(d.parent_path()))
    EXPECT_EQ(e.path().filename().string().find("." + d.filename().string()), std::string::npos) << e.path();
  fs::remove_all(d);
}

TEST(BundleProblemIo, OptionsJsonRoundTrip) {
  const nlohmann::json j = bundle_options_json(unusual_options());
  EXPECT_EQ(j.at("format"), "vgsplat-ba-problem-1");
  EXPECT_EQ(j.at("loss"), "soft_l1");
  EXPECT_EQ(j.at("constant_poses"), nlohmann::json::array({1, 4}));
  EXPECT_FALSE(j.contains("device"));
  EXPECT_FALSE(j.contains("verbose"));
  expect_same_options(unusual_options(), bundle_options_from_json(j));
  expect_same_options(BundleOptions{}, bundle_options_from_json(bundle_options_json({})));
  // Through text, as the file holds it.
  expect_same_options(unusual_options(), bundle_options_from_json(nlohmann::json::parse(j.dump(2))));
}

// The message of the vg::Error thrown by bundle_options_from_json after `edit`.
std::string error_after(void (*edit)(nlohmann::json&)) {
  nlohmann::json j = bundle_options_json({});
  edit(j);
  try {
    bundle_options_from_json(j);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(BundleProblemIo, BadOptionsNameTheField) {
  using J = nlohmann::json;
  EXPECT_NE(error_after([](J& j) { j["loss"] = "tukey"; }).find("\"loss\""), std::string::npos);
  EXPECT_NE(error_after([](J& j) { j["loss_scale"] = -1; }).find("loss_scale"), std::string::npos);
  EXPECT_NE(error_after([](J& j) { j["max_iterations"] = 2.5; }).find("max_iterations"), std::string::npos);
  EXPECT_NE(error_after([](J& j) { j["refine_focal"] = 1; }).find("refine_focal"), std::string::npos);
  EXPECT_NE(error_after([](J& j) { j["constant_poses"] = J::array({1, -2}); }).find("constant_poses"),
            std::string::npos);
  EXPECT_NE(error_after([](J& j) { j["constant_cameras"] = "1,2"; }).find("constant_cameras"), std::string::npos);
  EXPECT_NE(error_after([](J& j) { j.erase("function_tolerance"); }).find("missing field \"function_tolerance\""),
            std::string::npos);
  EXPECT_NE(error_after([](J& j) { j["max_iteration"] = 5; }).find("unknown field \"max_iteration\""),
            std::string::npos);
  EXPECT_NE(error_after([](J& j) { j["format"] = "vgsplat-ba-problem-0"; }).find("format"), std::string::npos);
  EXPECT_THROW(bundle_options_from_json(J::array()), Error);
}

TEST(BundleProblemIo, BadFoldersAreClearErrors) {
  const fs::path d = temp_dir("bad");
  EXPECT_THROW(read_bundle_problem(d), Error);  // missing
  write_bundle_problem(d, make_ba_scene({.num_images = 3}), {});
  fs::remove(d / "ba_options.json");
  try {
    read_bundle_problem(d);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ba_options.json"), std::string::npos) << e.what();
  }
  std::ofstream(d / "ba_options.json") << "{ not json";
  EXPECT_THROW(read_bundle_problem(d), Error);
  std::ofstream(d / "ba_options.json") << R"({"format": "vgsplat-ba-problem-1", "loss": "huber"})";
  try {
    read_bundle_problem(d);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing field"), std::string::npos) << e.what();
  }
  fs::remove_all(d);
}

}  // namespace
}  // namespace vg
