// safetensors reader/writer: round trips of every dtype (f16/bf16 conversion included), the
// half/bfloat16 conversions themselves, and one-line errors for corrupt or truncated files.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "io/safetensors.h"
#include "test_util.h"

namespace vg {
namespace {

fs::path temp_file(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("vgsplat_safetensors_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  return dir / name;
}

std::string raw_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

// Expects a vg::Error whose message names `path` and contains `what`.
void expect_rejected(const fs::path& path, const std::string& what) {
  try {
    SafetensorsFile::open(path);
    ADD_FAILURE() << "no error for " << what;
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(Safetensors, RoundTripAllDtypes) {
  std::mt19937 rng(7);
  Tensor f = test::normal({3, 4, 5}, 0.f, 10.f, rng);
  std::vector<float> exact = {0.f, 1.f, -2.5f, 0.125f, 1024.f, -4096.f};  // representable in f16 and bf16
  Tensor fe = Tensor::from_vector(exact, {2, 3});
  Tensor i64 = Tensor::from_vector<int64_t>({-5, 0, int64_t{1} << 40, 7}, {4});
  Tensor i32 = Tensor::from_vector<int32_t>({-3, 2, 1 << 30}, {3, 1});
  Tensor u8 = Tensor::from_vector<uint8_t>({0, 17, 255}, {3});
  Tensor scalar = Tensor::from_vector<float>({3.5f}, {});
  Tensor empty = Tensor::empty({0, 3});

  SafetensorsWriter w;
  w.add("f32", f);
  w.add("f16", f, StDType::F16);
  w.add("bf16", f, StDType::BF16);
  w.add("f16_exact", fe, StDType::F16);
  w.add("bf16_exact", fe, StDType::BF16);
  w.add("i64", i64);
  w.add("i32", i32);
  w.add("u8", u8);
  w.add("scalar", scalar);
  w.add("empty", empty);
  w.set_metadata("format", "pt");
  const fs::path path = temp_file("all.safetensors");
  w.write(path);

  SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.keys().size(), 10u);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.entry("f16").dtype, StDType::F16);
  EXPECT_EQ(file.entry("bf16").dtype, StDType::BF16);
  EXPECT_EQ(file.get("f32").to_vector<float>(), f.to_vector<float>());
  EXPECT_EQ(file.get("f16_exact").to_vector<float>(), exact);
  EXPECT_EQ(file.get("bf16_exact").to_vector<float>(), exact);
  const auto fv = f.to_vector<float>(), h = file.get("f16").to_vector<float>(), b = file.get("bf16").to_vector<float>();
  ASSERT_EQ(file.get("f16").shape(), f.shape());
  for (size_t i = 0; i < fv.size(); ++i) {
    EXPECT_LE(std::abs(h[i] - fv[i]), std::abs(fv[i]) * std::ldexp(1.0, -11) + 1e-7) << i;  // half: 11-bit significand
    EXPECT_LE(std::abs(b[i] - fv[i]), std::abs(fv[i]) * std::ldexp(1.0, -8)) << i;          // bf16: 8-bit significand
  }
  EXPECT_EQ(file.get("i64").to_vector<int64_t>(), i64.to_vector<int64_t>());
  EXPECT_EQ(file.get("i32").to_vector<int32_t>(), i32.to_vector<int32_t>());
  EXPECT_EQ(file.get("i32").shape(), (Shape{3, 1}));
  EXPECT_EQ(file.get("u8").to_vector<uint8_t>(), u8.to_vector<uint8_t>());
  EXPECT_EQ(file.get("scalar").shape(), Shape{});
  EXPECT_EQ(file.get("scalar").item(), 3.5f);
  EXPECT_EQ(file.get("empty").shape(), (Shape{0, 3}));

  // Conversions on request.
  EXPECT_EQ(file.get("i32", DType::I64).to_vector<int64_t>(), (std::vector<int64_t>{-3, 2, 1 << 30}));
  EXPECT_EQ(file.get("u8", DType::F32).to_vector<float>(), (std::vector<float>{0, 17, 255}));
  EXPECT_EQ(file.get("f16_exact", DType::F32).dtype(), DType::F32);
  EXPECT_THROW(file.get("i64", DType::I32), Error);  // 2^40 does not fit
  EXPECT_THROW(file.get("f32", DType::I64), Error);
  EXPECT_THROW(file.get("nope"), Error);

  auto all = load_safetensors(path);
  EXPECT_EQ(all.size(), 10u);
  EXPECT_EQ(all.at("f16").dtype(), DType::F32);

  // save_safetensors + header alignment of the data buffer.
  save_safetensors(path, {{"a", fe}, {"b", i64}});
  std::string bytes = read_file(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_EQ(load_safetensors(path).at("a").to_vector<float>(), exact);

  SafetensorsWriter bad;
  EXPECT_THROW(bad.add("x", i64, StDType::F16), Error);
  EXPECT_THROW(bad.add("__metadata__", f), Error);
}

TEST(Safetensors, HalfAndBf16Conversions) {
  // Every finite half survives half -> float -> half; NaNs stay NaN.
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = half_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(half_to_float(float_to_half(f))));
      continue;
    }
    ASSERT_EQ(float_to_half(f), h) << h;
  }
  EXPECT_EQ(float_to_half(65504.f), 0x7bff);
  EXPECT_EQ(float_to_half(65519.f), 0x7bff);
  EXPECT_EQ(float_to_half(65520.f), 0x7c00);  // rounds to inf
  EXPECT_EQ(float_to_half(1e9f), 0x7c00);
  EXPECT_EQ(float_to_half(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(float_to_half(std::ldexp(1.f, -24)), 0x0001);
  EXPECT_EQ(float_to_half(std::ldexp(1.f, -25)), 0x0000);        // tie -> even (0)
  EXPECT_EQ(float_to_half(std::ldexp(3.f, -25)), 0x0002);        // tie -> even (2)
  EXPECT_EQ(float_to_half(1.f + std::ldexp(1.f, -11)), 0x3c00);  // tie -> even
  EXPECT_EQ(float_to_half(1.f + std::ldexp(3.f, -11)), 0x3c02);
  EXPECT_EQ(float_to_half(-0.f), 0x8000);
  EXPECT_EQ(half_to_float(0x3555), 0.333251953125f);

  EXPECT_EQ(float_to_bf16(1.f), 0x3f80);
  EXPECT_EQ(float_to_bf16(1.f + std::ldexp(1.f, -8)), 0x3f80);  // tie -> even
  EXPECT_EQ(float_to_bf16(1.f + std::ldexp(3.f, -8)), 0x3f82);
  EXPECT_EQ(bf16_to_float(0xc0a0), -5.f);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
  for (uint32_t b = 0; b < 65536; ++b) {
    float f = bf16_to_float(static_cast<uint16_t>(b));
    if (!std::isnan(f)) ASSERT_EQ(float_to_bf16(f), b) << b;
  }
}

TEST(Safetensors, RejectsCorruptFiles) {
  const std::string data(24, '\0');
  auto header = [](const std::string& dtype, const std::string& shape, int b, int e) {
    return R"({"t":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":[)" + std::to_string(b) + "," +
           std::to_string(e) + "]}}";
  };
  const fs::path p = temp_file("bad.safetensors");

  write_file_atomic(p, raw_file(header("F32", "[2,3]", 0, 24), data));
  EXPECT_NO_THROW(SafetensorsFile::open(p));  // the well-formed baseline

  write_file_atomic(p, std::string(5, '\0'));
  expect_rejected(p, "shorter than the 8-byte header length");

  std::string big = raw_file(header("F32", "[2,3]", 0, 24), data);
  uint64_t huge = 1000;
  std::memcpy(big.data(), &huge, 8);
  write_file_atomic(p, big);
  expect_rejected(p, "header length 1000 beyond the file size");

  std::string full = raw_file(header("F32", "[2,3]", 0, 24), data);
  write_file_atomic(p, full.substr(0, full.size() - 4));  // truncated data
  expect_rejected(p, "out of range");

  write_file_atomic(p, raw_file(header("F32", "[2,3]", 0, 40), data));
  expect_rejected(p, "out of range");

  write_file_atomic(p, raw_file(header("F32", "[2,3]", 8, 4), data));
  expect_rejected(p, "out of range");

  write_file_atomic(p, raw_file(header("F32", "[2,2]", 0, 24), data));  // 16 bytes needed, 24 given
  expect_rejected(p, "needs 16");

  write_file_atomic(p, raw_file(header("F16", "[2,3]", 0, 24), data));
  expect_rejected(p, "needs 12");

  write_file_atomic(p, raw_file(header("F64", "[3]", 0, 24), data));
  expect_rejected(p, "unsupported dtype F64");

  write_file_atomic(p, raw_file(header("F32", "[-2,3]", 0, 24), data));
  expect_rejected(p, "bad shape");

  write_file_atomic(p, raw_file(R"({"t":{"dtype":"F32")", data));
  expect_rejected(p, "bad JSON header");

  write_file_atomic(p, raw_file(R"({"t":{"dtype":"F32","shape":[1]}})", data));
  expect_rejected(p, "lacks dtype/shape/data_offsets");

  try {
    SafetensorsFile::open(temp_file("missing.safetensors"));
    ADD_FAILURE() << "missing file accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.safetensors"), std::string::npos);
  }
}

}  // namespace
}  // namespace vg
