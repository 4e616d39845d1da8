// Splat exchange formats beside the INRIA PLY (io/ply.h): antimatter15's `.splat` (32 bytes per
// Gaussian, no view-dependent colour) and Niantic's `.spz` (gzip, quantised, versions 2 and 3), read
// and written to the same CPU Gaussians (raw parameters, w,x,y,z quats, shN [N,K-1,3]) the PLY uses.
// Both are written in the PLY's frame: `.splat` as antimatter15/splat convert.py stores it, `.spz`
// converted from the PLY's RDF axes to the RUB axes spz stores (nianticlabs/spz README, "Coordinate
// System"); reading undoes that. Writes are atomic; bad files throw vg::Error naming the file.
#pragma once
#include <filesystem>
#include <string>

#include "splat/gaussians.h"

namespace vg {

enum class SplatFormat { kPly, kSplat, kSpz };

// "ply" | "splat" | "spz" (throws a one-line error for anything else).
SplatFormat parse_splat_format(const std::string& name);
// From the file's extension (.ply / .splat / .spz); throws for an unknown one.
SplatFormat splat_format_of(const std::filesystem::path& path);

// antimatter15 .splat: per Gaussian position f32x3, scale f32x3 (exp of the log-scales), RGBA u8
// (0.5 + C0 * f_dc, sigmoid(opacity)), rotation u8x4 (normalised w,x,y,z * 128 + 128), sorted by
// exp(sum of log-scales) * sigmoid(opacity), largest first. SH of degree >= 1 are dropped.
std::string encode_splat(const Gaussians& g);
Gaussians decode_splat(const std::string& bytes, const std::string& name = ".splat data");
void write_splat(const std::filesystem::path& path, const Gaussians& g);
Gaussians read_splat(const std::filesystem::path& path);

struct SpzOptions {
  int version = 2;           // 2: first-three quaternion (widest reader support), 3: smallest-three
  bool antialiased = false;  // header flag 0x1 (mip-splatting trained)
  // Convert the PLY's RDF axes to the RUB axes the spz README prescribes (PackOptions from = RDF: y, z,
  // quaternion y, z and the odd SH negated). false: store the PLY's axes unchanged, as spz's own PLY
  // converter does with an UNSPECIFIED system (nianticlabs/spz issue #84); readers must then agree.
  bool rub_axes = true;
};
// Niantic .spz: gzip of a 16-byte header (magic "NGSP", version, count, SH degree, 12 fractional bits,
// flags, reserved) then positions (24-bit fixed point), alphas, colours, scales, rotations, SH.
std::string encode_spz(const Gaussians& g, const SpzOptions& opt = {});
// rub_axes: undo the RDF -> RUB conversion (must match how the file was written).
Gaussians decode_spz(const std::string& gz, const std::string& name = ".spz data", bool rub_axes = true);
void write_spz(const std::filesystem::path& path, const Gaussians& g, const SpzOptions& opt = {});
Gaussians read_spz(const std::filesystem::path& path, bool rub_axes = true);

// Any of the three, by extension (.ply / .splat / .spz); PLY through read_ply_3dgs / write_ply_3dgs.
Gaussians read_gaussians(const std::filesystem::path& path);
void write_gaussians(const std::filesystem::path& path, const Gaussians& g, SplatFormat format);

// Export filters: keep SH up to `sh_degree` (< 0: all); drop Gaussians with sigmoid(opacity) < min_opacity
// or with a largest axis scale exp(s) > max_scale (max_scale <= 0: no limit).
Gaussians truncate_sh(const Gaussians& g, int sh_degree);
Gaussians prune_gaussians(const Gaussians& g, float min_opacity, float max_scale);

}  // namespace vg
