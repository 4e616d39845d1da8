// A strict reader of NumPy .npy files (format versions 1.0, 2.0 and 3.0):
//   "\x93NUMPY", major, minor, header length (u16 little-endian for 1.0, u32 for 2.0/3.0), then a Python
//   dict literal {'descr': '<f8', 'fortran_order': False, 'shape': (20, 17), } padded with spaces and
//   ending in '\n', then the raw array data.
// Element types: float64 and float32, little-endian ('<f8', '<f4'; '=' is taken as little-endian, the only
// byte order vgsplat runs on). Big-endian, '|' (no byte order) for floats, other dtypes and structured
// dtypes are errors. fortran_order True is read and returned in C order. Any number of dimensions, () is a
// scalar. Bytes after the data are an error (numpy never writes them; they mean a damaged or concatenated
// file). Every malformed input throws a one-line vg::Error naming the file.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace vg {

struct NpyArray {
  std::vector<int64_t> shape;  // empty for a 0-d array
  std::vector<double> data;    // C (row-major) order, product(shape) values
};

// Parses the bytes of a .npy file; `name` (the file) prefixes every error message.
NpyArray parse_npy(std::string_view bytes, const std::string& name);
// Reads and parses a .npy file (regular files up to 1 GiB).
NpyArray read_npy(const std::filesystem::path& path);
// A version 1.0 '<f8' C-order .npy file's bytes (header padded to 64 bytes, as numpy writes it).
std::string npy_bytes(const std::vector<int64_t>& shape, const std::vector<double>& data);
// "(20, 17)", "(3,)", "()": a shape as Python prints it, for messages.
std::string npy_shape_string(const std::vector<int64_t>& shape);

}  // namespace vg
