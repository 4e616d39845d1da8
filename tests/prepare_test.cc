// prepare: photo listing, DTU angle order, numpy-linspace sampling, output naming, atomic output.
#include "pipeline/prepare.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "core/error.h"

namespace vg {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("vgsplat_prepare_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void touch(const fs::path& p, const std::string& content = "x") {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << content;
}

TEST(Prepare, DtuAngleParsing) {
  EXPECT_EQ(dtu_angle("rect_001_0_r5000.png"), 0);
  EXPECT_EQ(dtu_angle("rect_049_6_r5000.jpg"), 6);
  EXPECT_EQ(dtu_angle("rect_049_3_r5000.PNG"), 3);
  EXPECT_EQ(dtu_angle("rect_049_max.png"), -1);
  EXPECT_EQ(dtu_angle("0001.png"), -1);
}

TEST(Prepare, UniformSamplingMatchesNumpyLinspace) {
  // numpy.linspace(0, 99, 7).astype(int) = [0 16 33 49 66 82 99]
  EXPECT_EQ(uniform_sample_indices(100, 7), (std::vector<int>{0, 16, 33, 49, 66, 82, 99}));
  // numpy.linspace(0, 342, 60).astype(int)[:6] = [0 5 11 17 23 28]; 49*7=343 DTU photos
  auto idx = uniform_sample_indices(343, 60);
  ASSERT_EQ(idx.size(), 60u);
  EXPECT_EQ(std::vector<int>(idx.begin(), idx.begin() + 6), (std::vector<int>{0, 5, 11, 17, 23, 28}));
  EXPECT_EQ(idx.back(), 342);
  for (size_t i = 1; i < idx.size(); ++i) EXPECT_LT(idx[i - 1], idx[i]);
  EXPECT_EQ(uniform_sample_indices(5, 60), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(uniform_sample_indices(5, 1), (std::vector<int>{0}));
  // numpy.linspace(0, 9, 4).astype(int) = [0 3 6 9]
  EXPECT_EQ(uniform_sample_indices(10, 4), (std::vector<int>{0, 3, 6, 9}));
}

TEST(Prepare, OutputNamingRules) {
  const fs::path root = "/data/out";
  EXPECT_EQ(standard_dataset_dir("/x/DTU/Rectified/scan24_train", root), root / "DTU/scan24_standard");
  EXPECT_EQ(standard_dataset_dir("/x/DTU/scan105_train/", root), root / "DTU/scan105_standard");
  EXPECT_EQ(standard_dataset_dir("/x/CO3Dv2/teddybear/34_1403_4393/images", root),
            root / "CO3Dv2/teddybear_34_1403_4393_standard");
  EXPECT_EQ(standard_dataset_dir("/x/CO3Dv2/apple/110_13051_23361", root), root / "CO3Dv2/apple_110_13051_23361_standard");
  EXPECT_EQ(standard_dataset_dir("/x/shared/data/fox", root), root / "fox_standard");
  EXPECT_EQ(standard_dataset_dir("/x/shared/data/fox/images", root), root / "fox_standard");
  EXPECT_EQ(standard_dataset_dir("/x/scan24_train", root), root / "scan24_train_standard");  // not under DTU
}

TEST(Prepare, DtuOrderedByAngleThenNameAndNumbered) {
  const fs::path d = temp_dir("dtu");
  const fs::path src = d / "DTU" / "scan7_train";
  // 3 views x 7 angles = 21 photos; written in a scrambled order.
  for (int a = 6; a >= 0; --a)
    for (int v : {3, 1, 2}) touch(src / ("rect_00" + std::to_string(v) + "_" + std::to_string(a) + "_r5000.png"),
                                  std::to_string(v) + "/" + std::to_string(a));
  touch(src / "notes.txt");
  PrepareOptions opt;
  opt.out_root = d / "datasets";
  opt.max_images = 8;
  PrepareResult r = prepare_dataset(src, opt);
  EXPECT_TRUE(r.dtu);
  EXPECT_EQ(r.num_source, 21);
  EXPECT_EQ(r.out_dir, d / "datasets" / "DTU" / "scan7_standard");
  // Angle-major order: index k -> angle k/3, view k%3+1; linspace(0,20,8).astype(int) = [0 2 5 8 11 14 17 20].
  const std::vector<std::string> want = {"rect_001_0_r5000.png", "rect_003_0_r5000.png", "rect_003_1_r5000.png",
                                         "rect_003_2_r5000.png", "rect_003_3_r5000.png", "rect_003_4_r5000.png",
                                         "rect_003_5_r5000.png", "rect_003_6_r5000.png"};
  EXPECT_EQ(r.sources, want);
  ASSERT_EQ(r.names.size(), 8u);
  EXPECT_EQ(r.names[0], "0000.png");
  EXPECT_EQ(r.names[7], "0007.png");
  std::ifstream f(r.out_dir / "images" / "0002.png");
  std::string content;
  f >> content;
  EXPECT_EQ(content, "3/1");  // rect_003_1 copied byte for byte under its number
  int files = 0;
  for (auto& e : fs::directory_iterator(r.out_dir / "images")) files += e.is_regular_file();
  EXPECT_EQ(files, 8);
  // An existing output is kept unless asked to overwrite.
  EXPECT_THROW(prepare_dataset(src, opt), Error);
  opt.overwrite = true;
  opt.max_images = 60;
  r = prepare_dataset(src, opt);
  EXPECT_EQ(r.names.size(), 21u);
  int entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(d / "datasets" / "DTU")) ++entries;
  EXPECT_EQ(entries, 1);  // no temp folder left beside it
  fs::remove_all(d);
}

TEST(Prepare, PlainFolderKeepsNamesAndAllPhotosWhenFew) {
  const fs::path d = temp_dir("plain");
  for (const char* n : {"b.JPG", "a.png", "c.jpeg", "readme.md", ".hidden.png"}) touch(d / "garden" / "images" / n);
  PrepareOptions opt;
  opt.out_root = d / "datasets";
  const PrepareResult r = prepare_dataset(d / "garden", opt);
  EXPECT_FALSE(r.dtu);
  EXPECT_EQ(r.out_dir, d / "datasets" / "garden_standard");
  EXPECT_EQ(r.names, (std::vector<std::string>{"a.png", "b.JPG", "c.jpeg"}));
  EXPECT_TRUE(fs::exists(r.out_dir / "images" / "b.JPG"));
  fs::remove_all(d);
}

TEST(Prepare, BadInput) {
  const fs::path d = temp_dir("bad");
  PrepareOptions opt;
  opt.out_root = d / "datasets";
  EXPECT_THROW(prepare_dataset(d / "missing", opt), Error);
  touch(d / "empty" / "notes.txt");
  try {
    prepare_dataset(d / "empty", opt);
    FAIL() << "no photos should throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no PNG/JPG photos"), std::string::npos) << e.what();
  }
  touch(d / "one" / "a.png");
  opt.max_images = 0;
  EXPECT_THROW(prepare_dataset(d / "one", opt), Error);
  EXPECT_FALSE(fs::exists(d / "datasets" / "one_standard"));
  fs::remove_all(d);
}

}  // namespace
}  // namespace vg
