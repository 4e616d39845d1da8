#include "io/image.h"

#include <gtest/gtest.h>
#include <jpeglib.h>
#include <png.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/fs.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace vg;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("vgsplat_image_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

Image random_image(int w, int h, int c, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u(0, 255);
  Image img{w, h, c, std::vector<float>(static_cast<size_t>(w) * h * c)};
  for (float& p : img.pixels) p = u(rng) / 255.0f;
  return img;
}

// A smooth RGB image encoded as JPEG with libjpeg (quality 95).
void write_jpeg(const fs::path& path, const Image& img) {
  std::FILE* fp = std::fopen(path.c_str(), "wb");
  ASSERT_TRUE(fp);
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, fp);
  cinfo.image_width = img.width;
  cinfo.image_height = img.height;
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 95, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<unsigned char> row(static_cast<size_t>(img.width) * 3);
  for (int y = 0; y < img.height; ++y) {
    for (size_t i = 0; i < row.size(); ++i) row[i] = static_cast<unsigned char>(img.pixels[y * row.size() + i] * 255 + 0.5f);
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&cinfo, &r, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::fclose(fp);
}

Image smooth_rgb(int w, int h) {
  Image img{w, h, 3, std::vector<float>(static_cast<size_t>(w) * h * 3)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      img.at(y, x, 0) = static_cast<float>(x) / w;
      img.at(y, x, 1) = static_cast<float>(y) / h;
      img.at(y, x, 2) = 0.5f;
    }
  return img;
}

void truncate_file(const fs::path& p, double keep) {
  std::string bytes = read_file(p);
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size() * keep));
}

double max_abs_diff(const Image& a, const Image& b) {
  double m = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) m = std::max(m, std::abs(double(a.pixels[i]) - b.pixels[i]));
  return m;
}

}  // namespace

TEST(Image, PngRoundTripAllChannelCounts) {
  const fs::path d = temp_dir("png");
  for (int c = 1; c <= 4; ++c) {
    const Image img = random_image(37, 21, c, 7u + c);
    write_png(d / "a.png", img);
    const Image back = read_image(d / "a.png");
    ASSERT_EQ(back.width, 37);
    ASSERT_EQ(back.height, 21);
    ASSERT_EQ(back.channels, c);
    EXPECT_LT(max_abs_diff(back, img), 1e-6) << c << " channels";
    const ImageInfo info = read_image_info(d / "a.png");
    EXPECT_EQ(info.width, 37);
    EXPECT_EQ(info.channels, c);
  }
  fs::remove_all(d);
}

TEST(Image, JpegRoundTripAndMagicBytesDecideTheFormat) {
  const fs::path d = temp_dir("jpeg");
  const Image img = smooth_rgb(64, 48);
  write_jpeg(d / "looks_like.png", img);  // JPEG bytes under a .png name
  const Image back = read_image(d / "looks_like.png");
  ASSERT_EQ(back.channels, 3);
  ASSERT_EQ(back.width, 64);
  EXPECT_LT(max_abs_diff(back, img), 8.0 / 255);
  write_png(d / "looks_like.jpg", img);  // PNG bytes under a .jpg name
  EXPECT_LT(max_abs_diff(read_image(d / "looks_like.jpg"), img), 0.51 / 255);  // 8-bit quantisation
  fs::remove_all(d);
}

TEST(Image, SixteenBitPng) {
  const fs::path d = temp_dir("png16");
  const fs::path p = d / "deep.png";
  const int w = 5, h = 3;
  std::vector<uint16_t> vals(w * h);
  for (size_t i = 0; i < vals.size(); ++i) vals[i] = static_cast<uint16_t>(i * 4099 + 1);
  {
    std::FILE* fp = std::fopen(p.c_str(), "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, fp);
    png_set_IHDR(png, info, w, h, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    std::vector<unsigned char> row(2 * w);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) row[2 * x] = vals[y * w + x] >> 8, row[2 * x + 1] = vals[y * w + x] & 0xFF;
      png_write_row(png, row.data());
    }
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    std::fclose(fp);
  }
  const Image img = read_image(p);
  ASSERT_EQ(img.channels, 1);
  for (size_t i = 0; i < vals.size(); ++i) EXPECT_FLOAT_EQ(img.pixels[i], vals[i] / 65535.0f);
  const Image rgb = to_rgb(img);
  EXPECT_EQ(rgb.channels, 3);
  EXPECT_FLOAT_EQ(rgb.at(2, 4, 1), img.at(2, 4, 0));
  fs::remove_all(d);
}

TEST(Image, RgbaCompositing) {
  Image img{2, 1, 4, {1, 0, 0, 1, /**/ 0, 1, 0, 0.25f}};
  const Image out = to_rgb(img, {1, 1, 1});
  EXPECT_FLOAT_EQ(out.at(0, 0, 0), 1);
  EXPECT_FLOAT_EQ(out.at(0, 0, 1), 0);
  EXPECT_FLOAT_EQ(out.at(0, 1, 0), 0.75f);  // 0*0.25 + 1*0.75
  EXPECT_FLOAT_EQ(out.at(0, 1, 1), 1.0f);
  Image ga{1, 1, 2, {0.5f, 0.5f}};
  EXPECT_FLOAT_EQ(to_rgb(ga, {0, 0, 1}).at(0, 0, 2), 0.75f);
  const Tensor t = image_to_tensor(out);
  EXPECT_EQ(t.shape(), (Shape{1, 2, 3}));
}

TEST(Image, ResizeAreaIsBoxMean) {
  Image img{4, 3, 1, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}};
  const Image out = resize_area(img, 2);
  ASSERT_EQ(out.width, 2);
  ASSERT_EQ(out.height, 1);  // the odd last row is dropped
  EXPECT_FLOAT_EQ(out.pixels[0], (0 + 1 + 4 + 5) / 4.0f);
  EXPECT_FLOAT_EQ(out.pixels[1], (2 + 3 + 6 + 7) / 4.0f);
}

TEST(Image, TruncatedAndCorruptFilesThrowNamingTheFile) {
  const fs::path d = temp_dir("trunc");
  write_png(d / "t.png", random_image(64, 64, 3, 1));
  truncate_file(d / "t.png", 0.5);
  write_jpeg(d / "t.jpg", smooth_rgb(64, 64));
  truncate_file(d / "t.jpg", 0.5);
  write_file_atomic(d / "junk.png", "not an image at all");
  for (const char* name : {"t.png", "t.jpg", "junk.png"}) {
    const std::string path = (d / name).string();
    try {
      read_image(d / name);
      ADD_FAILURE() << name << " decoded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cannot decode " + path), std::string::npos) << e.what();
    }
    EXPECT_THROW(read_image_info(d / name), Error) << name;
  }
  EXPECT_THROW(read_image(d / "missing.png"), Error);
  fs::remove_all(d);
}

TEST(Image, RealPhotos) {
  const fs::path fox = test::data_dir() / "fox" / "images" / "0001.jpg";
  if (!fs::exists(fox)) GTEST_SKIP() << "no " << fox;
  const Image img = read_image(fox);
  EXPECT_EQ(img.width, 540);
  EXPECT_EQ(img.height, 960);
  EXPECT_EQ(img.channels, 3);
  const fs::path lego = test::data_dir() / "lego" / "train" / "r_0.png";
  const Image rgba = read_image(lego);
  EXPECT_EQ(rgba.channels, 4);
  EXPECT_EQ(rgba.width, 400);
}
