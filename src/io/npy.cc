#include "io/npy.h"

#include <bit>
#include <cstring>
#include <limits>
#include <optional>

#include "core/error.h"
#include "core/fs.h"

namespace vg {

namespace {

constexpr std::string_view kMagic("\x93NUMPY", 6);
constexpr uint64_t kMaxFileBytes = uint64_t{1} << 30;

uint64_t read_le(std::string_view b, size_t off, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(b[off + static_cast<size_t>(i)]);
  return v;
}

struct Header {
  std::optional<std::string> descr;
  std::optional<bool> fortran_order;
  std::optional<std::vector<int64_t>> shape;
};

// A cursor over the header's Python dict literal: only the forms numpy writes (quoted strings without
// escapes, True/False, tuples of non-negative ints), so anything else is rejected rather than guessed at.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& name) : s_(text), name_(name) {}

  Header dict() {
    expect('{');
    Header h;
    while (!eat('}')) {
      const std::string key = string();
      expect(':');
      value(key, h);
      if (!eat(',')) {
        expect('}');
        break;
      }
    }
    for (; i_ < s_.size(); ++i_)
      if (!is_space(s_[i_])) fail("unexpected '", s_[i_], "' after the dict");
    return h;
  }

 private:
  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  template <typename... Args>
  [[noreturn]] void fail(Args&&... args) const {
    VG_FAIL(name_, ": bad .npy header at byte ", i_, ": ", args...);
  }

  void skip_space() {
    while (i_ < s_.size() && is_space(s_[i_])) ++i_;
  }
  bool eat(char c) {
    skip_space();
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail("expected '", c, "'");
  }
  bool eat_word(std::string_view w) {
    skip_space();
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }

  std::string string() {
    skip_space();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) fail("expected a quoted string");
    const char quote = s_[i_++];
    const size_t begin = i_;
    for (; i_ < s_.size() && s_[i_] != quote; ++i_)
      if (s_[i_] == '\\' || s_[i_] == '\n') fail("escapes and line breaks in strings are not supported");
    if (i_ >= s_.size()) fail("unterminated string");
    return std::string(s_.substr(begin, i_++ - begin));
  }

  bool boolean() {
    if (eat_word("True")) return true;
    if (eat_word("False")) return false;
    fail("fortran_order must be True or False");
  }

  int64_t integer() {
    skip_space();
    if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') fail("expected a non-negative integer in the shape");
    int64_t v = 0;
    for (; i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9'; ++i_) {
      const int d = s_[i_] - '0';
      if (v > (std::numeric_limits<int64_t>::max() - d) / 10) fail("shape dimension too large");
      v = v * 10 + d;
    }
    if (i_ < s_.size() && s_[i_] == 'L') ++i_;  // Python 2 long literal (20L)
    return v;
  }

  // (), (n,), (n, m), (n, m,) ... A bare (n) is an int in Python, not a tuple.
  std::vector<int64_t> tuple() {
    expect('(');
    std::vector<int64_t> dims;
    if (eat(')')) return dims;
    for (;;) {
      dims.push_back(integer());
      if (eat(',')) {
        if (eat(')')) break;
        continue;
      }
      expect(')');
      if (dims.size() == 1) fail("shape (", dims[0], ") is not a tuple");
      break;
    }
    return dims;
  }

  void value(const std::string& key, Header& h) {
    auto once = [&](const auto& slot) {
      if (slot) fail("key '", key, "' appears twice");
    };
    if (key == "descr") {
      once(h.descr);
      skip_space();
      if (i_ < s_.size() && s_[i_] != '\'' && s_[i_] != '"')
        fail("descr is not a string (structured dtypes are not supported)");
      h.descr = string();
    } else if (key == "fortran_order") {
      once(h.fortran_order);
      h.fortran_order = boolean();
    } else if (key == "shape") {
      once(h.shape);
      h.shape = tuple();
    } else {
      fail("unknown key '", key, "'");
    }
  }

  std::string_view s_;
  const std::string& name_;
  size_t i_ = 0;
};

// Element size in bytes for the supported descr strings; throws for the rest.
int item_size(const std::string& descr, const std::string& name) {
  const bool f4 = descr.size() == 3 && descr.substr(1) == "f4", f8 = descr.size() == 3 && descr.substr(1) == "f8";
  VG_CHECK(f4 || f8, name, ": dtype '", descr, "' is not supported (only float32 '<f4' and float64 '<f8')");
  VG_CHECK(descr[0] != '>', name, ": big-endian dtype '", descr, "' is not supported (save it little-endian)");
  VG_CHECK(descr[0] == '<' || descr[0] == '=', name, ": dtype '", descr, "' has no valid byte order");
  return f4 ? 4 : 8;
}

// Number of elements, or an error if the product does not fit in int64.
int64_t element_count(const std::vector<int64_t>& shape, const std::string& name) {
  for (int64_t d : shape)
    if (d == 0) return 0;
  int64_t n = 1;
  for (int64_t d : shape) {
    VG_CHECK(n <= std::numeric_limits<int64_t>::max() / d, name, ": shape product overflows");
    n *= d;
  }
  return n;
}

// Fortran (column-major) values -> C order: walk the C multi-index, keeping the Fortran offset in step.
std::vector<double> to_c_order(const std::vector<double>& f, const std::vector<int64_t>& shape) {
  const size_t nd = shape.size();
  std::vector<int64_t> idx(nd, 0), stride(nd);
  int64_t s = 1;
  for (size_t k = 0; k < nd; ++k) stride[k] = s, s *= shape[k];
  std::vector<double> c(f.size());
  int64_t off = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    c[i] = f[static_cast<size_t>(off)];
    for (size_t k = nd; k-- > 0;) {
      off += stride[k];
      if (++idx[k] < shape[k]) break;
      off -= stride[k] * shape[k], idx[k] = 0;
    }
  }
  return c;
}

std::vector<double> decode(std::string_view data, int64_t count, int size) {
  std::vector<double> out(static_cast<size_t>(count));
  for (size_t i = 0; i < out.size(); ++i) {
    const uint64_t bits = read_le(data, i * static_cast<size_t>(size), size);
    out[i] = size == 8 ? std::bit_cast<double>(bits) : std::bit_cast<float>(static_cast<uint32_t>(bits));
  }
  return out;
}

}  // namespace

NpyArray parse_npy(std::string_view bytes, const std::string& name) {
  VG_CHECK(bytes.size() >= 10 && bytes.substr(0, 6) == kMagic, name, ": not a NumPy .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[6]), minor = static_cast<unsigned char>(bytes[7]);
  VG_CHECK(major >= 1 && major <= 3 && minor == 0, name, ": unsupported .npy format version ", major, ".", minor);
  const size_t len_bytes = major == 1 ? 2 : 4, preamble = 8 + len_bytes;
  VG_CHECK(bytes.size() >= preamble, name, ": truncated .npy header");
  const uint64_t header_len = read_le(bytes, 8, static_cast<int>(len_bytes));
  VG_CHECK(header_len <= bytes.size() - preamble, name, ": truncated .npy header (", header_len, " bytes declared, ",
           bytes.size() - preamble, " in the file)");
  const std::string_view text = bytes.substr(preamble, header_len);
  VG_CHECK(!text.empty() && text.back() == '\n', name, ": .npy header does not end in a line break");
  const Header h = HeaderParser(text, name).dict();
  VG_CHECK(h.descr && h.fortran_order && h.shape, name, ": .npy header lacks one of 'descr', 'fortran_order', 'shape'");

  const int size = item_size(*h.descr, name);
  const int64_t count = element_count(*h.shape, name);
  const std::string_view data = bytes.substr(preamble + header_len);
  VG_CHECK(static_cast<uint64_t>(count) <= data.size() / static_cast<size_t>(size), name,
           ": data too short: shape needs ", count, " values of ", size, " bytes, the file has ", data.size(),
           " bytes after the header");
  VG_CHECK(data.size() == static_cast<size_t>(count) * static_cast<size_t>(size), name, ": ",
           data.size() - static_cast<size_t>(count) * static_cast<size_t>(size), " unexpected bytes after the data");
  NpyArray a;
  a.shape = *h.shape;
  a.data = decode(data, count, size);
  if (*h.fortran_order && a.shape.size() > 1) a.data = to_c_order(a.data, a.shape);
  return a;
}

std::string npy_shape_string(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

std::string npy_bytes(const std::vector<int64_t>& shape, const std::vector<double>& data) {
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': " + npy_shape_string(shape) + ", }";
  header.append(63 - (10 + header.size()) % 64, ' ').push_back('\n');  // 10-byte preamble + header: 64k bytes
  VG_CHECK(static_cast<uint64_t>(element_count(shape, "npy_bytes")) == data.size(), "npy_bytes: ", data.size(),
           " values for shape ", npy_shape_string(shape));
  VG_CHECK(header.size() <= 0xffff, "npy_bytes: shape ", npy_shape_string(shape), " too long for a 1.0 header");
  std::string out(kMagic);
  out += '\x01', out += '\x00';
  out += static_cast<char>(header.size() & 0xff), out += static_cast<char>(header.size() >> 8);
  out += header;
  for (double v : data) {
    const uint64_t bits = std::bit_cast<uint64_t>(v);
    for (int i = 0; i < 8; ++i) out += static_cast<char>(bits >> (8 * i) & 0xff);
  }
  return out;
}

NpyArray read_npy(const std::filesystem::path& path) {
  std::error_code ec;
  VG_CHECK(std::filesystem::is_regular_file(path, ec), path.string(), ": not found or not a regular file");
  const uint64_t size = std::filesystem::file_size(path, ec);
  VG_CHECK(!ec, "cannot read ", path.string(), ": ", ec.message());
  VG_CHECK(size <= kMaxFileBytes, path.string(), ": ", size, " bytes is too large for a .npy file here (limit 1 GiB)");
  return parse_npy(read_file(path), path.string());
}

}  // namespace vg
