// TbEventWriter: protobuf wire format by hand (varints, fixed32 / fixed64, length-delimited fields) for the
// few Event / Summary fields vgsplat writes, and TFRecord framing with masked CRC-32C.
#include "io/tb_events.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/error.h"

namespace vg {
namespace {

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

void put_le(std::string& s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Protobuf wire format: a key is (field << 3) | wire type; 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.
void put_varint(std::string& s, uint64_t v) {
  while (v >= 0x80) {
    s.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  s.push_back(static_cast<char>(v));
}
void put_key(std::string& s, int field, int wire) { put_varint(s, (static_cast<uint64_t>(field) << 3) | wire); }
void put_bytes(std::string& s, int field, std::string_view b) {
  put_key(s, field, 2);
  put_varint(s, b.size());
  s.append(b);
}
void put_double(std::string& s, int field, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  put_key(s, field, 1);
  put_le(s, bits, 8);
}
void put_float(std::string& s, int field, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  put_key(s, field, 5);
  put_le(s, bits, 4);
}
void put_int(std::string& s, int field, int64_t v) {
  put_key(s, field, 0);
  put_varint(s, static_cast<uint64_t>(v));
}

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Event{wall_time = 1, step = 2, summary = 5 {value = 1 {...}}} around one encoded Summary.Value.
std::string summary_event(const std::string& value, int64_t step) {
  std::string summary, event;
  put_bytes(summary, 1, value);
  put_double(event, 1, unix_seconds());
  put_int(event, 2, step);
  put_bytes(event, 5, summary);
  return event;
}

}  // namespace

uint32_t crc32c(const void* data, size_t n, uint32_t crc) {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = kCrcTable[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

uint32_t masked_crc32c(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

std::string tfrecord(std::string_view payload) {
  std::string r, len;
  put_le(len, payload.size(), 8);
  r += len;
  put_le(r, masked_crc32c(len.data(), len.size()), 4);
  r.append(payload);
  put_le(r, masked_crc32c(payload.data(), payload.size()), 4);
  return r;
}

TbEventWriter::TbEventWriter(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  VG_CHECK(!ec, "TensorBoard: cannot create ", dir.string(), ": ", ec.message());
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  path_ = dir / ("events.out.tfevents." + std::to_string(static_cast<long long>(unix_seconds())) + "." + host + "." +
                 std::to_string(static_cast<long long>(getpid())));
  f_ = std::fopen(path_.c_str(), "wb");
  VG_CHECK(f_, "TensorBoard: cannot write ", path_.string(), ": ", std::strerror(errno));
  std::string event;
  put_double(event, 1, unix_seconds());
  put_bytes(event, 3, "brain.Event:2");
  write_event(event);
  flush();
}

TbEventWriter::~TbEventWriter() {
  if (f_) std::fclose(f_);
}

void TbEventWriter::write_event(const std::string& event) {
  const std::string rec = tfrecord(event);
  VG_CHECK(std::fwrite(rec.data(), 1, rec.size(), f_) == rec.size(), "TensorBoard: cannot write ", path_.string(),
           ": ", std::strerror(errno));
}

void TbEventWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  std::string v;
  put_bytes(v, 1, tag);
  put_float(v, 2, static_cast<float>(value));
  write_event(summary_event(v, step));
}

void TbEventWriter::add_image(const std::string& tag, const Image& img, int64_t step) {
  std::string image, v;
  put_int(image, 1, img.height);
  put_int(image, 2, img.width);
  put_int(image, 3, img.channels);  // colorspace: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA
  put_bytes(image, 4, png_bytes(img));
  put_bytes(v, 1, tag);
  put_bytes(v, 4, image);
  write_event(summary_event(v, step));
}

void TbEventWriter::flush() {
  VG_CHECK(std::fflush(f_) == 0, "TensorBoard: cannot write ", path_.string(), ": ", std::strerror(errno));
}

}  // namespace vg
