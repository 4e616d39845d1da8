#include "io/image.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "core/error.h"
#include "core/fs.h"

namespace vg {

namespace {

enum class Format { Png, Jpeg, Unknown };

Format sniff(const std::string& bytes) {
  static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), png_sig, 8) == 0) return Format::Png;
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
      static_cast<unsigned char>(bytes[1]) == 0xD8 && static_cast<unsigned char>(bytes[2]) == 0xFF)
    return Format::Jpeg;
  return Format::Unknown;
}

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& why) {
  VG_FAIL("cannot decode ", path.string(), ": ", why);
}

// ---- PNG: libpng reports errors by longjmp to png_jmpbuf; the message is kept here.
struct PngReader {
  const std::string* bytes;
  size_t pos = 0;
  char error[200] = {0};
};

void png_error_fn(png_structp png, png_const_charp msg) {
  auto* r = static_cast<PngReader*>(png_get_error_ptr(png));
  std::snprintf(r->error, sizeof(r->error), "%s", msg);
  png_longjmp(png, 1);
}
void png_warning_fn(png_structp, png_const_charp) {}

void png_read_fn(png_structp png, png_bytep out, png_size_t n) {
  auto* r = static_cast<PngReader*>(png_get_io_ptr(png));
  if (r->pos + n > r->bytes->size()) png_error(png, "file is truncated");
  std::memcpy(out, r->bytes->data() + r->pos, n);
  r->pos += n;
}

// Decodes into `img` (pixels only when !header_only); returns false with r.error set on failure.
bool decode_png(const std::string& bytes, bool header_only, Image& img, PngReader& r) {
  r.bytes = &bytes;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, png_error_fn, png_warning_fn);
  if (!png) return std::snprintf(r.error, sizeof(r.error), "out of memory"), false;
  png_infop info = png_create_info_struct(png);
  std::vector<unsigned char> raw;       // lives outside the jump
  std::vector<png_bytep> rows;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, &r, png_read_fn);
  png_read_info(png, info);
  if (!header_only) {  // deflate expands at most ~1032:1, so a header claiming more pixels than that is corrupt
    const uint64_t bits = uint64_t{png_get_image_width(png, info)} * png_get_channels(png, info) *
                          png_get_bit_depth(png, info);
    const uint64_t raw_bytes = uint64_t{png_get_image_height(png, info)} * (1 + (bits + 7) / 8);
    if (raw_bytes / 1100 > bytes.size()) png_error(png, "image size in the header does not fit the file's data");
  }
  png_set_expand(png);  // palette -> RGB, gray < 8 bit -> 8 bit, tRNS -> alpha
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const int w = static_cast<int>(png_get_image_width(png, info));
  const int h = static_cast<int>(png_get_image_height(png, info));
  const int c = png_get_channels(png, info);
  const int depth = png_get_bit_depth(png, info);
  img.width = w, img.height = h, img.channels = c;
  if (!header_only) {
    const size_t rowbytes = png_get_rowbytes(png, info);
    raw.resize(rowbytes * static_cast<size_t>(h));
    rows.resize(static_cast<size_t>(h));
    for (int y = 0; y < h; ++y) rows[static_cast<size_t>(y)] = raw.data() + rowbytes * static_cast<size_t>(y);
    png_read_image(png, rows.data());
    png_read_end(png, nullptr);
  }
  png_destroy_read_struct(&png, &info, nullptr);
  if (header_only) return true;
  const size_t n = static_cast<size_t>(w) * h * c;
  img.pixels.resize(n);
  if (depth == 16) {  // PNG samples are big-endian
    for (size_t i = 0; i < n; ++i) img.pixels[i] = static_cast<float>((raw[2 * i] << 8) | raw[2 * i + 1]) / 65535.0f;
  } else {
    for (size_t i = 0; i < n; ++i) img.pixels[i] = static_cast<float>(raw[i]) / 255.0f;
  }
  return true;
}

// ---- JPEG: error_exit longjmps back; a premature end of data (a truncated file) is an error too.
struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char error[JMSG_LENGTH_MAX + 1] = {0};
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->error);
  std::longjmp(e->jump, 1);
}

void jpeg_emit(j_common_ptr cinfo, int level) {
  if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_error_exit(cinfo);
}

bool decode_jpeg(const std::string& bytes, bool header_only, JpegDecode mode, Image& img, JpegError& err) {
  jpeg_decompress_struct cinfo;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_error_exit;
  err.mgr.emit_message = jpeg_emit;
  std::vector<unsigned char> raw;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  const bool gray = cinfo.jpeg_color_space == JCS_GRAYSCALE;
  cinfo.out_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;  // YCbCr, CMYK, YCCK -> RGB (libjpeg-turbo)
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) cinfo.out_color_space = JCS_CMYK;
  if (mode == JpegDecode::kFast) {  // FreeImage's JPEG_DEFAULT (= JPEG_FAST) settings
    cinfo.dct_method = JDCT_IFAST;
    cinfo.do_fancy_upsampling = FALSE;
  }
  img.width = static_cast<int>(cinfo.image_width);
  img.height = static_cast<int>(cinfo.image_height);
  img.channels = gray ? 1 : 3;
  if (header_only) {
    jpeg_destroy_decompress(&cinfo);
    return true;
  }
  jpeg_start_decompress(&cinfo);
  const int oc = cinfo.output_components;
  const size_t stride = static_cast<size_t>(cinfo.output_width) * oc;
  raw.resize(stride * cinfo.output_height);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = raw.data() + stride * cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  const bool cmyk = cinfo.out_color_space == JCS_CMYK;
  const bool inverted = cmyk && cinfo.saw_Adobe_marker;  // Adobe stores CMYK inverted
  jpeg_destroy_decompress(&cinfo);
  const size_t npix = static_cast<size_t>(img.width) * img.height;
  img.pixels.resize(npix * img.channels);
  if (!cmyk) {
    for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = raw[i] / 255.0f;
    return true;
  }
  for (size_t i = 0; i < npix; ++i) {  // RGB = (1-C)(1-K) etc., with C,M,Y,K as stored
    float v[4];
    for (int c = 0; c < 4; ++c) v[c] = raw[4 * i + c] / 255.0f;
    if (!inverted)
      for (float& x : v) x = 1.0f - x;
    for (int c = 0; c < 3; ++c) img.pixels[3 * i + c] = v[c] * v[3];
  }
  return true;
}

Image decode(const std::filesystem::path& path, const std::string& bytes, bool header_only,
             JpegDecode mode = JpegDecode::kAccurate) {
  Image img;
  switch (sniff(bytes)) {
    case Format::Png: {
      PngReader r;
      if (!decode_png(bytes, header_only, img, r)) fail(path, r.error);
      return img;
    }
    case Format::Jpeg: {
      JpegError e;
      if (!decode_jpeg(bytes, header_only, mode, img, e)) fail(path, e.error);
      return img;
    }
    default:
      fail(path, bytes.empty() ? "empty file" : "not a PNG or JPEG file");
  }
}

std::string read_span(std::ifstream& is, std::streamoff off, size_t n) {
  std::string s(n, '\0');
  is.seekg(off);
  is.read(s.data(), static_cast<std::streamsize>(n));
  s.resize(static_cast<size_t>(is.gcount()));
  return s;
}

// A complete file ends with its end marker: PNG's IEND chunk, JPEG's EOI (tolerating trailing bytes).
bool has_end_marker(Format f, const std::string& tail) {
  if (f == Format::Png) {
    static const unsigned char iend[8] = {'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    return tail.size() >= 8 && std::memcmp(tail.data() + tail.size() - 8, iend, 8) == 0;
  }
  for (size_t i = tail.size(); i >= 2; --i)
    if (static_cast<unsigned char>(tail[i - 2]) == 0xFF && static_cast<unsigned char>(tail[i - 1]) == 0xD9) return true;
  return false;
}

}  // namespace

Image read_image(const std::filesystem::path& path, JpegDecode jpeg) { return decode(path, read_file(path), false, jpeg); }

ImageInfo read_image_info(const std::filesystem::path& path) {
  std::ifstream is(path, std::ios::binary | std::ios::ate);
  VG_CHECK(is, "cannot read ", path.string(), ": ", std::strerror(errno));
  const auto size = static_cast<std::streamoff>(is.tellg());
  constexpr std::streamoff kHead = 1 << 18, kTail = 4096;
  std::string head = read_span(is, 0, static_cast<size_t>(std::min(size, kHead)));
  const Format f = sniff(head);
  if (f == Format::Unknown) fail(path, head.empty() ? "empty file" : "not a PNG or JPEG file");
  const std::string tail = read_span(is, std::max<std::streamoff>(0, size - kTail), static_cast<size_t>(kTail));
  if (!has_end_marker(f, tail)) fail(path, "file is truncated (no end marker)");
  Image img;
  try {
    img = decode(path, head, true);
  } catch (const Error&) {
    if (size <= kHead) throw;
    img = decode(path, read_file(path), true);  // headers longer than the first chunk (large EXIF)
  }
  return {img.width, img.height, img.channels};
}

namespace {
struct PngWriter {
  char error[200] = {0};
};
void png_write_error(png_structp png, png_const_charp msg) {
  auto* w = static_cast<PngWriter*>(png_get_error_ptr(png));
  std::snprintf(w->error, sizeof(w->error), "%s", msg);
  png_longjmp(png, 1);
}

bool encode_png(std::FILE* fp, const Image& img, const std::vector<unsigned char>& px, PngWriter& w) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, png_write_error, png_warning_fn);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  std::vector<png_bytep> rows(static_cast<size_t>(img.height));
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                               PNG_COLOR_TYPE_RGBA};
  png_init_io(png, fp);
  png_set_IHDR(png, info, static_cast<png_uint_32>(img.width), static_cast<png_uint_32>(img.height), 8,
               types[img.channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const size_t stride = static_cast<size_t>(img.width) * img.channels;
  for (int y = 0; y < img.height; ++y) rows[static_cast<size_t>(y)] = const_cast<unsigned char*>(px.data()) + stride * y;
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}
}  // namespace

namespace {

// 8-bit samples of img (clamped to [0,1], rounded; NaN -> 0) after checking its shape; `what` names it in errors.
std::vector<unsigned char> png_samples(const Image& img, const std::string& what) {
  VG_CHECK(img.channels >= 1 && img.channels <= 4, "cannot write ", what, ": ", img.channels, " channels");
  VG_CHECK(img.width > 0 && img.height > 0 &&
               img.pixels.size() == static_cast<size_t>(img.width) * img.height * img.channels,
           "cannot write ", what, ": pixel count does not match ", img.width, "x", img.height, "x", img.channels);
  std::vector<unsigned char> px(img.pixels.size());
  for (size_t i = 0; i < px.size(); ++i) {
    const float v = std::isnan(img.pixels[i]) ? 0.0f : std::min(1.0f, std::max(0.0f, img.pixels[i]));
    px[i] = static_cast<unsigned char>(v * 255.0f + 0.5f);
  }
  return px;
}

}  // namespace

void write_png(const std::filesystem::path& path, const Image& img) {
  const std::vector<unsigned char> px = png_samples(img, path.string());
  AtomicFile out(path);
  std::FILE* fp = std::fopen(out.temp_path().c_str(), "wb");
  VG_CHECK(fp, "cannot write ", path.string(), ": ", std::strerror(errno));
  PngWriter w;
  const bool ok = encode_png(fp, img, px, w);
  const bool closed = std::fclose(fp) == 0;
  VG_CHECK(ok && closed, "cannot write ", path.string(), ": ", ok ? "write failed (disk full?)" : w.error);
  out.commit();
}

std::string png_bytes(const Image& img) {
  const std::vector<unsigned char> px = png_samples(img, "a PNG in memory");
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* fp = open_memstream(&buf, &size);  // POSIX: a FILE* writing into a growing buffer
  VG_CHECK(fp, "cannot encode a PNG in memory: ", std::strerror(errno));
  PngWriter w;
  const bool ok = encode_png(fp, img, px, w);
  std::fclose(fp);  // sets buf / size
  std::string out = ok ? std::string(buf, size) : std::string();
  std::free(buf);
  VG_CHECK(ok, "cannot encode a PNG in memory: ", w.error);
  return out;
}

}  // namespace vg
