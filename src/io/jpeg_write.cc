#include "io/jpeg_write.h"

#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>

#include "core/error.h"
#include "core/fs.h"

namespace vg {

namespace {

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {};
};

void on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Encodes into an open file; false (with err.message) on a libjpeg error. No C++ objects with
// destructors live in this frame, so longjmp out of libjpeg is safe.
bool encode(std::FILE* fp, const uint8_t* rgb, int width, int height, int quality, bool chroma_420, JpegError& err) {
  jpeg_compress_struct cinfo;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = on_error;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    return false;
  }
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, fp);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  if (!chroma_420)
    for (int c = 0; c < 3; ++c) cinfo.comp_info[c].h_samp_factor = cinfo.comp_info[c].v_samp_factor = 1;
  cinfo.dct_method = JDCT_ISLOW;
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(rgb + static_cast<size_t>(cinfo.next_scanline) * width * 3);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return true;
}

}  // namespace

void write_jpeg(const fs::path& path, const uint8_t* rgb, int width, int height, int quality, bool chroma_420) {
  VG_CHECK(width > 0 && height > 0 && rgb, "cannot write ", path.string(), ": empty image");
  VG_CHECK(quality >= 1 && quality <= 100, "cannot write ", path.string(), ": JPEG quality ", quality);
  AtomicFile out(path);
  std::FILE* fp = std::fopen(out.temp_path().c_str(), "wb");
  VG_CHECK(fp, "cannot write ", path.string(), ": ", std::strerror(errno));
  JpegError err;
  const bool ok = encode(fp, rgb, width, height, quality, chroma_420, err);
  const bool closed = std::fclose(fp) == 0;
  VG_CHECK(ok, "cannot write ", path.string(), ": ", err.message);
  VG_CHECK(closed, "cannot write ", path.string(), ": ", std::strerror(errno));
  out.commit();
}

}  // namespace vg
