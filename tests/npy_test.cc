// The .npy reader (io/npy.h) on hand-made files: versions 1.0/2.0/3.0, f4/f8, Fortran order, and every
// kind of malformed input ending in a one-line vg::Error that names the file.
#include "io/npy.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <unistd.h>

#include "core/error.h"
#include "core/fs.h"

using namespace vg;

namespace {

// A .npy file: magic, version (major.0), little-endian header length, the header as given, then `data`.
std::string npy(int major, const std::string& header, const std::string& data) {
  std::string s("\x93NUMPY", 6);
  s += static_cast<char>(major), s += '\0';
  const size_t n = header.size();
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i) s += static_cast<char>(n >> (8 * i) & 0xff);
  return s + header + data;
}

std::string f8(const std::vector<double>& v) {
  std::string s(v.size() * 8, '\0');
  std::memcpy(s.data(), v.data(), s.size());  // x86: little-endian
  return s;
}
std::string f4(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

std::string dict(const std::string& descr, bool fortran, const std::string& shape) {
  std::string h = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " +
                  shape + ", }";
  h.append(63 - (h.size() + 10) % 64, ' ');
  return h + "\n";
}

std::vector<double> iota(size_t n) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.5 * static_cast<double>(i) - 1;
  return v;
}

void expect_error(const std::string& bytes, const std::string& what) {
  try {
    parse_npy(bytes, "bad.npy");
    ADD_FAILURE() << "no error; expected one saying '" << what << "'";
  } catch (const vg::Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("bad.npy", 0), 0u) << m;
    EXPECT_NE(m.find(what), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

}  // namespace

TEST(Npy, Version1Float64) {
  const NpyArray a = parse_npy(npy(1, dict("<f8", false, "(20, 17)"), f8(iota(340))), "a.npy");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{20, 17}));
  EXPECT_EQ(a.data, iota(340));
}

TEST(Npy, Version2And3Float32) {
  const std::vector<float> v = {1.5f, -2.25f, 3e-8f};
  for (int major : {2, 3}) {
    const NpyArray a = parse_npy(npy(major, dict("<f4", false, "(3,)"), f4(v)), "a.npy");
    EXPECT_EQ(a.shape, (std::vector<int64_t>{3}));
    ASSERT_EQ(a.data.size(), 3u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(a.data[i], static_cast<double>(v[i]));
  }
}

TEST(Npy, FortranOrderComesBackInCOrder) {
  // 2x3: column-major storage a00 a10 a01 a11 a02 a12.
  const NpyArray a = parse_npy(npy(1, dict("<f8", true, "(2, 3)"), f8({0, 10, 1, 11, 2, 12})), "a.npy");
  EXPECT_EQ(a.data, (std::vector<double>{0, 1, 2, 10, 11, 12}));
  // 2x3x4: element (i, j, k) stored at i + 2 j + 6 k, its value 100 i + 10 j + k.
  std::vector<double> f(24);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) f[i + 2 * j + 6 * k] = 100 * i + 10 * j + k;
  const NpyArray b = parse_npy(npy(2, dict("<f8", true, "(2, 3, 4)"), f8(f)), "b.npy");
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_EQ(b.data[12 * i + 4 * j + k], 100 * i + 10 * j + k);
}

TEST(Npy, ScalarEmptyAndHeaderVariants) {
  const NpyArray s = parse_npy(npy(1, dict("<f8", false, "()"), f8({7})), "s.npy");
  EXPECT_TRUE(s.shape.empty());
  EXPECT_EQ(s.data, (std::vector<double>{7}));
  const NpyArray e = parse_npy(npy(1, dict("<f8", false, "(0, 17)"), ""), "e.npy");
  EXPECT_EQ(e.shape, (std::vector<int64_t>{0, 17}));
  EXPECT_TRUE(e.data.empty());
  // Native byte order, double quotes, another key order, no trailing comma, Python 2 longs, no padding.
  const NpyArray v = parse_npy(
      npy(1, "{\"shape\": (2L, 1L), \"fortran_order\": False, \"descr\": \"=f8\"}\n", f8({3, 4})), "v.npy");
  EXPECT_EQ(v.shape, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(v.data, (std::vector<double>{3, 4}));
}

TEST(Npy, WriterRoundTrips) {
  const std::string bytes = npy_bytes({4, 3}, iota(12));
  EXPECT_EQ((bytes.size() - 12 * 8) % 64, 0u);
  const NpyArray a = parse_npy(bytes, "w.npy");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(a.data, iota(12));
  EXPECT_EQ(npy_shape_string({5}), "(5,)");
  EXPECT_THROW(npy_bytes({2}, iota(3)), vg::Error);
}

TEST(Npy, MalformedInputsNameTheFile) {
  const std::string good = dict("<f8", false, "(2,)"), data = f8({1, 2});
  expect_error("", "bad magic");
  expect_error("\x93NUMPZ\x01\x00\x10\x00", "bad magic");
  expect_error(npy(4, good, data), "version 4.0");
  std::string minor = npy(1, good, data);
  minor[7] = 1;
  expect_error(minor, "version 1.1");
  expect_error(npy(2, good, data).substr(0, 11), "truncated");
  expect_error(npy(1, good, data).substr(0, 40), "truncated .npy header");
  expect_error(npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", data), "line break");
  expect_error(npy(1, "[1, 2]\n", data), "expected '{'");
  expect_error(npy(1, "{'descr': '<f8', 'shape': (2,), }\n", data), "lacks");
  expect_error(npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}\n", data), "unknown key 'x'");
  expect_error(npy(1, "{'descr': '<f8', 'descr': '<f8'}\n", data), "twice");
  expect_error(npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)} x\n", data), "after the dict");
  expect_error(npy(1, "{'descr: '<f8'}\n", data), "expected ':'");
  expect_error(npy(1, "{'descr\n", data), "line breaks");
  expect_error(npy(1, dict(">f8", false, "(2,)"), data), "big-endian");
  expect_error(npy(1, dict("<i4", false, "(2,)"), data), "'<i4' is not supported");
  expect_error(npy(1, dict("|f8", false, "(2,)"), data), "byte order");
  expect_error(npy(1, "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }\n", data), "structured");
  expect_error(npy(1, "{'descr': '<f8', 'fortran_order': 0, 'shape': (2,), }\n", data), "True or False");
  expect_error(npy(1, dict("<f8", false, "(2)"), data), "not a tuple");
  expect_error(npy(1, dict("<f8", false, "(-2,)"), data), "non-negative");
  expect_error(npy(1, dict("<f8", false, "(99999999999999999999,)"), data), "too large");
  expect_error(npy(1, dict("<f8", false, "(4294967296, 4294967296, 4294967296)"), data), "overflows");
  expect_error(npy(1, dict("<f8", false, "(3,)"), data), "data too short");
  expect_error(npy(1, dict("<f8", false, "(2, 3)"), data), "data too short");
  expect_error(npy(1, dict("<f8", false, "(2,)"), data + "xyz"), "3 unexpected bytes after the data");
}

TEST(Npy, ReadFileNamesIt) {
  const fs::path p = fs::temp_directory_path() / ("vgsplat_npy_test_" + std::to_string(::getpid()) + ".npy");
  write_file_atomic(p, npy(1, dict("<f4", false, "(1, 2)"), f4({1, 2})));
  EXPECT_EQ(read_npy(p).data, (std::vector<double>{1, 2}));
  write_file_atomic(p, "garbage");
  try {
    read_npy(p);
    ADD_FAILURE() << "no error";
  } catch (const vg::Error& e) {
    EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
  }
  fs::remove(p);
  EXPECT_THROW(read_npy(p), vg::Error);
  EXPECT_THROW(read_npy(p.parent_path()), vg::Error);
}
