#include "io/splat_formats.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cctype>
#include <cstring>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "io/ply.h"

namespace vg {

namespace {

constexpr float kC0 = 0.28209479177387814f;  // SH degree-0 basis constant
constexpr float kSpzColorScale = 0.15f;       // spz: DC stored as dc * 0.15 * 255 + 127.5
constexpr int kSpzFractionalBits = 12;
constexpr uint32_t kSpzMagic = 0x5053474e;    // "NGSP" little-endian
constexpr float kSqrt1_2 = 0.70710678118654752f;

// Host copies of the raw parameters; quats w,x,y,z; shN [n, k1, 3] (coefficient-major, channel inner).
struct Host {
  int64_t n = 0;
  int deg = 0;
  std::vector<float> means, scales, quats, opac, sh0, shN;
  int64_t k1() const { return sh_coeffs(deg) - 1; }
};

Host to_host(const Gaussians& g) {
  Host h;
  h.n = g.size();
  if (h.n == 0) return h;
  VG_CHECK(!g.device().is_cuda(), "Gaussians must be on the CPU to be exported");
  h.deg = g.max_sh_degree();
  h.means = g.means.to_vector<float>();
  h.scales = g.scales.to_vector<float>();
  h.quats = g.quats.to_vector<float>();
  h.opac = g.opacities.to_vector<float>();
  h.sh0 = g.sh0.to_vector<float>();
  h.shN = g.shN.to_vector<float>();
  return h;
}

Gaussians from_host(const Host& h) {
  Gaussians g;
  g.means = Tensor::from_vector(h.means, {h.n, 3});
  g.scales = Tensor::from_vector(h.scales, {h.n, 3});
  g.quats = Tensor::from_vector(h.quats, {h.n, 4});
  g.opacities = Tensor::from_vector(h.opac, {h.n});
  g.sh0 = Tensor::from_vector(h.sh0, {h.n, 3});
  g.shN = Tensor::from_vector(h.shN, {h.n, h.k1(), 3});
  return g;
}

Host empty_host(int64_t n, int deg) {
  Host h;
  h.n = n;
  h.deg = deg;
  h.means.resize(3 * n);
  h.scales.resize(3 * n);
  h.quats.resize(4 * n);
  h.opac.resize(n);
  h.sh0.resize(3 * n);
  h.shN.resize(static_cast<size_t>(n * h.k1() * 3));
  return h;
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
// logit of a stored 8-bit alpha, kept finite (0 and 255 would give -inf / +inf).
float logit_u8(uint8_t a) {
  const float p = std::clamp(a / 255.0f, 0.5f / 255.0f, 254.5f / 255.0f);
  return std::log(p / (1.0f - p));
}
// Round and clamp to a byte (spz toUint8).
uint8_t round_u8(float x) { return static_cast<uint8_t>(std::clamp(std::round(x), 0.0f, 255.0f)); }
// Clip then truncate to a byte (numpy .clip(0, 255).astype(np.uint8), as splat's convert.py).
uint8_t trunc_u8(float x) { return static_cast<uint8_t>(std::clamp(x, 0.0f, 255.0f)); }

void put_f32(std::string& out, float v) {
  char b[4];
  std::memcpy(b, &v, 4);  // little-endian hosts only (x86-64 / aarch64)
  out.append(b, 4);
}
float get_f32(const char* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}
void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t get_u32(const unsigned char* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

std::array<float, 4> unit_quat(const float* q) {  // w,x,y,z normalised (identity when degenerate)
  const float n = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  if (!(n > 0) || !std::isfinite(n)) return {1, 0, 0, 0};
  return {q[0] / n, q[1] / n, q[2] / n, q[3] / n};
}

// ---- gzip (zlib) ----

std::string gzip(const std::string& raw) {
  z_stream s{};
  VG_CHECK(deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY) == Z_OK,
           "zlib: deflateInit2 failed");
  std::string out(deflateBound(&s, static_cast<uLong>(raw.size())) + 64, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  s.avail_in = static_cast<uInt>(raw.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  VG_CHECK(rc == Z_STREAM_END, "zlib: deflate failed (", rc, ")");
  return out;
}

std::string gunzip(const std::string& gz, const std::string& name) {
  z_stream s{};
  VG_CHECK(inflateInit2(&s, 32 + MAX_WBITS) == Z_OK, "zlib: inflateInit2 failed");  // gzip or zlib header
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  s.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc == Z_OK) {
    s.next_out = reinterpret_cast<Bytef*>(buf);
    s.avail_out = sizeof buf;
    rc = inflate(&s, Z_NO_FLUSH);
    out.append(buf, sizeof buf - s.avail_out);
    if (rc == Z_BUF_ERROR && s.avail_in == 0) break;  // input ended before the stream did
  }
  inflateEnd(&s);
  VG_CHECK(rc == Z_STREAM_END, name, ": not a valid .spz file (gzip stream ",
           rc == Z_BUF_ERROR ? "truncated" : "corrupt", ")");
  return out;
}

// ---- spz coordinate flips: PLY RDF -> spz RUB negates y and z (a 180 deg turn about x) ----

constexpr std::array<float, 3> kFlipP = {1, -1, -1};
constexpr std::array<float, 3> kFlipQ = {1, -1, -1};  // quaternion x,y,z (w kept)
// Sign of each SH basis function (degree 1..3, gsplat order) under (x, y, z) -> (x, -y, -z).
constexpr std::array<float, 15> kFlipSh = {-1, -1, 1, -1, 1, 1, -1, 1, -1, 1, -1, -1, 1, -1, 1};
// The sign when the RDF -> RUB conversion is on, else 1.
float flip(float sign, bool on) { return on ? sign : 1.0f; }

// spz legacy SH quantisation: 8 bits around 128, then snapped to a bucket of `bucket` steps.
uint8_t quantize_sh(float x, int bucket) {
  int q = static_cast<int>(std::round(x * 128.0f)) + 128;
  q = (q + bucket / 2) / bucket * bucket;
  return static_cast<uint8_t>(std::clamp(q, 0, 255));
}

// Version 3: the largest |component| is dropped (its index in 2 bits), the other three as sign + 9 bits.
// Component order x,y,z,w as spz stores them.
void pack_smallest_three(const std::array<float, 4>& xyzw, unsigned char* out) {
  int big = 0;
  for (int i = 1; i < 4; ++i)
    if (std::abs(xyzw[i]) > std::abs(xyzw[big])) big = i;
  const bool negate = xyzw[big] < 0;
  uint32_t comp = static_cast<uint32_t>(big);
  for (int i = 0; i < 4; ++i) {
    if (i == big) continue;
    const uint32_t sign = (xyzw[i] < 0) != negate ? 1u : 0u;
    const uint32_t mag = static_cast<uint32_t>(511.0f * (std::abs(xyzw[i]) / kSqrt1_2) + 0.5f);
    comp = (comp << 10) | (sign << 9) | std::min(mag, 511u);
  }
  for (int b = 0; b < 4; ++b) out[b] = static_cast<unsigned char>((comp >> (8 * b)) & 0xff);
}

std::array<float, 4> unpack_smallest_three(const unsigned char* in) {
  uint32_t comp = get_u32(in);
  const int big = static_cast<int>(comp >> 30);
  std::array<float, 4> q{};
  float sum = 0;
  for (int i = 3; i >= 0; --i) {  // the last packed component sits in the lowest bits
    if (i == big) continue;
    const float v = kSqrt1_2 * static_cast<float>(comp & 511u) / 511.0f;
    q[i] = (comp >> 9) & 1u ? -v : v;
    comp >>= 10;
    sum += q[i] * q[i];
  }
  q[big] = std::sqrt(std::max(0.0f, 1.0f - sum));
  return q;
}

// The spz payload (before gzip) for the given host Gaussians.
std::string spz_payload(const Host& h, const SpzOptions& opt) {
  const int64_t n = h.n, k1 = h.k1();
  const bool on = opt.rub_axes;  // flips applied (RUB) or not (the file keeps the PLY's axes)
  std::string out;
  put_u32(out, kSpzMagic);
  put_u32(out, static_cast<uint32_t>(opt.version));
  put_u32(out, static_cast<uint32_t>(n));
  out.push_back(static_cast<char>(h.deg));
  out.push_back(static_cast<char>(kSpzFractionalBits));
  out.push_back(static_cast<char>(opt.antialiased ? 1 : 0));
  out.push_back(0);
  const float fixed_scale = static_cast<float>(1 << kSpzFractionalBits);
  for (int64_t i = 0; i < 3 * n; ++i) {  // positions: 24-bit signed fixed point
    const float v = flip(kFlipP[i % 3], on) * h.means[i] * fixed_scale;
    VG_CHECK(std::abs(v) < float(1 << 23), "position ", h.means[i], " is outside the .spz range (+-2048)");
    const int32_t f = static_cast<int32_t>(std::round(v));
    for (int b = 0; b < 3; ++b) out.push_back(static_cast<char>((f >> (8 * b)) & 0xff));
  }
  for (int64_t i = 0; i < n; ++i) out.push_back(static_cast<char>(round_u8(sigmoid(h.opac[i]) * 255.0f)));
  for (int64_t i = 0; i < 3 * n; ++i)
    out.push_back(static_cast<char>(round_u8(h.sh0[i] * (kSpzColorScale * 255.0f) + 0.5f * 255.0f)));
  for (int64_t i = 0; i < 3 * n; ++i) out.push_back(static_cast<char>(round_u8((h.scales[i] + 10.0f) * 16.0f)));
  for (int64_t i = 0; i < n; ++i) {
    const std::array<float, 4> w = unit_quat(&h.quats[4 * i]);
    std::array<float, 4> q = {flip(kFlipQ[0], on) * w[1], flip(kFlipQ[1], on) * w[2], flip(kFlipQ[2], on) * w[3], w[0]};
    if (opt.version >= 3) {
      unsigned char b[4];
      pack_smallest_three(q, b);
      out.append(reinterpret_cast<const char*>(b), 4);
    } else {
      const float s = q[3] < 0 ? -127.5f : 127.5f;  // w >= 0, then x,y,z in [-1, 1] -> [0, 255]
      for (int c = 0; c < 3; ++c) out.push_back(static_cast<char>(round_u8(q[c] * s + 127.5f)));
    }
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k1; ++j)
      for (int c = 0; c < 3; ++c)
        out.push_back(static_cast<char>(quantize_sh(flip(kFlipSh[j], on) * h.shN[(i * k1 + j) * 3 + c], j < 3 ? 8 : 16)));
  return out;
}

// Reads the fields of an spz payload in order, checking the size first.
Host spz_parse(const std::string& raw, const std::string& name, bool rub_axes) {
  const bool on = rub_axes;
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  VG_CHECK(raw.size() >= 16 && get_u32(p) == kSpzMagic, name, ": not a .spz file (no NGSP header)");
  const uint32_t version = get_u32(p + 4);
  VG_CHECK(version == 2 || version == 3, name, ": .spz version ", version, " is not supported (2 or 3)");
  const int64_t n = get_u32(p + 8);
  const int deg = p[12], frac = p[13], flags = p[14];
  VG_CHECK(deg <= 3, name, ": .spz SH degree ", deg, " is not supported (0..3)");
  VG_CHECK(!(flags & 0x2), name, ": .spz extensions are not supported");
  Host h = empty_host(n, deg);
  const int64_t k1 = h.k1(), rot_bytes = version >= 3 ? 4 : 3;
  const int64_t need = 16 + n * (9 + 1 + 3 + 3 + rot_bytes + 3 * k1);
  VG_CHECK(static_cast<int64_t>(raw.size()) >= need, name, ": truncated .spz data (", raw.size(), " bytes, ", n,
           " Gaussians need ", need, ")");
  const unsigned char* q = p + 16;
  const float inv_scale = 1.0f / static_cast<float>(1 << frac);
  for (int64_t i = 0; i < 3 * n; ++i, q += 3) {
    int32_t f = int32_t(q[0]) | int32_t(q[1]) << 8 | int32_t(q[2]) << 16;
    if (f & 0x800000) f |= static_cast<int32_t>(0xff000000u);  // sign-extend 24 -> 32 bits
    h.means[i] = flip(kFlipP[i % 3], on) * static_cast<float>(f) * inv_scale;
  }
  for (int64_t i = 0; i < n; ++i) h.opac[i] = logit_u8(*q++);
  for (int64_t i = 0; i < 3 * n; ++i) h.sh0[i] = (*q++ / 255.0f - 0.5f) / kSpzColorScale;
  for (int64_t i = 0; i < 3 * n; ++i) h.scales[i] = *q++ / 16.0f - 10.0f;
  for (int64_t i = 0; i < n; ++i, q += rot_bytes) {
    std::array<float, 4> r{};  // x,y,z,w
    if (version >= 3) {
      r = unpack_smallest_three(q);
    } else {
      for (int c = 0; c < 3; ++c) r[c] = q[c] / 127.5f - 1.0f;
      r[3] = std::sqrt(std::max(0.0f, 1.0f - (r[0] * r[0] + r[1] * r[1] + r[2] * r[2])));
    }
    h.quats[4 * i] = r[3];
    for (int c = 0; c < 3; ++c) h.quats[4 * i + 1 + c] = flip(kFlipQ[c], on) * r[c];
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k1; ++j)
      for (int c = 0; c < 3; ++c) h.shN[(i * k1 + j) * 3 + c] = flip(kFlipSh[j], on) * (*q++ - 128.0f) / 128.0f;
  return h;
}

// Order of antimatter15's convert.py: by exp(sum of log-scales) * sigmoid(opacity), largest first.
std::vector<int64_t> splat_order(const Host& h) {
  std::vector<double> key(h.n);
  for (int64_t i = 0; i < h.n; ++i)
    key[i] = std::exp(double(h.scales[3 * i]) + h.scales[3 * i + 1] + h.scales[3 * i + 2]) * sigmoid(h.opac[i]);
  std::vector<int64_t> order(h.n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return key[a] > key[b]; });
  return order;
}

}  // namespace

SplatFormat parse_splat_format(const std::string& name) {
  if (name == "ply") return SplatFormat::kPly;
  if (name == "splat") return SplatFormat::kSplat;
  if (name == "spz") return SplatFormat::kSpz;
  VG_FAIL("unknown export format '", name, "' (ply, splat or spz)");
}

SplatFormat splat_format_of(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  VG_CHECK(ext == ".ply" || ext == ".splat" || ext == ".spz", path.string(),
           ": unknown splat file type (expected .ply, .splat or .spz)");
  return parse_splat_format(ext.substr(1));
}

std::string encode_splat(const Gaussians& g) {
  const Host h = to_host(g);
  std::string out;
  out.reserve(static_cast<size_t>(32 * h.n));
  for (const int64_t i : splat_order(h)) {
    for (int d = 0; d < 3; ++d) put_f32(out, h.means[3 * i + d]);
    for (int d = 0; d < 3; ++d) put_f32(out, std::exp(h.scales[3 * i + d]));
    for (int c = 0; c < 3; ++c) out.push_back(static_cast<char>(trunc_u8((0.5f + kC0 * h.sh0[3 * i + c]) * 255.0f)));
    out.push_back(static_cast<char>(trunc_u8(sigmoid(h.opac[i]) * 255.0f)));
    const std::array<float, 4> q = unit_quat(&h.quats[4 * i]);
    for (int c = 0; c < 4; ++c) out.push_back(static_cast<char>(trunc_u8(q[c] * 128.0f + 128.0f)));
  }
  return out;
}

Gaussians decode_splat(const std::string& bytes, const std::string& name) {
  VG_CHECK(bytes.size() % 32 == 0, name, ": not a .splat file (", bytes.size(), " bytes is not a multiple of 32)");
  Host h = empty_host(static_cast<int64_t>(bytes.size() / 32), 0);
  for (int64_t i = 0; i < h.n; ++i) {
    const char* p = bytes.data() + 32 * i;
    const auto* u = reinterpret_cast<const unsigned char*>(p + 24);
    for (int d = 0; d < 3; ++d) h.means[3 * i + d] = get_f32(p + 4 * d);
    for (int d = 0; d < 3; ++d) {
      const float s = get_f32(p + 12 + 4 * d);
      VG_CHECK(s > 0 && std::isfinite(s), name, ": Gaussian ", i, " has a non-positive scale");
      h.scales[3 * i + d] = std::log(s);
    }
    for (int c = 0; c < 3; ++c) h.sh0[3 * i + c] = (u[c] / 255.0f - 0.5f) / kC0;
    h.opac[i] = logit_u8(u[3]);
    for (int c = 0; c < 4; ++c) h.quats[4 * i + c] = (u[4 + c] - 128.0f) / 128.0f;
    if (h.quats[4 * i] == 0 && h.quats[4 * i + 1] == 0 && h.quats[4 * i + 2] == 0 && h.quats[4 * i + 3] == 0)
      h.quats[4 * i] = 1;
  }
  return from_host(h);
}

void write_splat(const fs::path& path, const Gaussians& g) { write_file_atomic(path, encode_splat(g)); }

Gaussians read_splat(const fs::path& path) { return decode_splat(read_file(path), path.string()); }

std::string encode_spz(const Gaussians& g, const SpzOptions& opt) {
  VG_CHECK(opt.version == 2 || opt.version == 3, ".spz version must be 2 or 3, got ", opt.version);
  const Host h = to_host(g);
  VG_CHECK(h.deg <= 3, ".spz holds SH up to degree 3, got ", h.deg);
  return gzip(spz_payload(h, opt));
}

Gaussians decode_spz(const std::string& gz, const std::string& name, bool rub_axes) {
  return from_host(spz_parse(gunzip(gz, name), name, rub_axes));
}

void write_spz(const fs::path& path, const Gaussians& g, const SpzOptions& opt) {
  write_file_atomic(path, encode_spz(g, opt));
}

Gaussians read_spz(const fs::path& path, bool rub_axes) { return decode_spz(read_file(path), path.string(), rub_axes); }

Gaussians read_gaussians(const fs::path& path) {
  std::error_code ec;
  VG_CHECK(fs::is_regular_file(path, ec), "cannot read ", path.string(), ": no such file");
  switch (splat_format_of(path)) {
    case SplatFormat::kPly: return read_ply_3dgs(path);
    case SplatFormat::kSplat: return read_splat(path);
    case SplatFormat::kSpz: return read_spz(path);
  }
  return {};
}

void write_gaussians(const fs::path& path, const Gaussians& g, SplatFormat format) {
  switch (format) {
    case SplatFormat::kPly: write_ply_3dgs(path, g); return;
    case SplatFormat::kSplat: write_splat(path, g); return;
    case SplatFormat::kSpz: write_spz(path, g); return;
  }
}

Gaussians truncate_sh(const Gaussians& g, int sh_degree) {
  Host h = to_host(g);
  if (sh_degree < 0 || sh_degree >= h.deg || h.n == 0) return g;
  const int64_t k_old = h.k1();
  Host t = h;
  t.deg = sh_degree;
  const int64_t k_new = t.k1();
  t.shN.assign(static_cast<size_t>(h.n * k_new * 3), 0.0f);
  for (int64_t i = 0; i < h.n; ++i)
    for (int64_t j = 0; j < k_new * 3; ++j) t.shN[i * k_new * 3 + j] = h.shN[i * k_old * 3 + j];
  return from_host(t);
}

Gaussians prune_gaussians(const Gaussians& g, float min_opacity, float max_scale) {
  const Host h = to_host(g);
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < h.n; ++i) {
    const float s = std::max({h.scales[3 * i], h.scales[3 * i + 1], h.scales[3 * i + 2]});
    if (sigmoid(h.opac[i]) < min_opacity) continue;
    if (max_scale > 0 && std::exp(s) > max_scale) continue;
    keep.push_back(i);
  }
  if (static_cast<int64_t>(keep.size()) == h.n) return g;
  Host t = empty_host(static_cast<int64_t>(keep.size()), h.deg);
  const int64_t k3 = h.k1() * 3;
  for (size_t o = 0; o < keep.size(); ++o) {
    const int64_t i = keep[o];
    std::copy_n(&h.means[3 * i], 3, &t.means[3 * o]);
    std::copy_n(&h.scales[3 * i], 3, &t.scales[3 * o]);
    std::copy_n(&h.quats[4 * i], 4, &t.quats[4 * o]);
    t.opac[o] = h.opac[i];
    std::copy_n(&h.sh0[3 * i], 3, &t.sh0[3 * o]);
    std::copy(h.shN.begin() + i * k3, h.shN.begin() + (i + 1) * k3, t.shN.begin() + o * k3);
  }
  return from_host(t);
}

}  // namespace vg
