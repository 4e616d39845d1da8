// TensorBoard event files, written without TensorFlow: TFRecord framing (length, masked CRC-32C of the length,
// payload, masked CRC-32C of the payload) around protobuf-encoded `Event` messages
// (tensorboard/compat/proto/event.proto: wall_time = 1, step = 2, file_version = 3, summary = 5; summary.proto:
// Summary.value = 1, Value.tag = 1, simple_value = 2, image = 4; Image height = 1, width = 2, colorspace = 3,
// encoded_image_string = 4). Scalars are the legacy `simple_value` kind, which TensorBoard's scalar dashboard and
// EventAccumulator read as scalars; images are PNGs. An event file is a log: records are appended and flushed,
// and a record cut short by a crash is ignored by TensorBoard's reader (its CRCs do not match).
#pragma once
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "io/image.h"

namespace vg {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of n bytes, continuing from `crc`.
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);
// TFRecord's masked CRC: ((c >> 15) | (c << 17)) + 0xa282ead8 of c = crc32c(data).
uint32_t masked_crc32c(const void* data, size_t n);
// One TFRecord: uint64 length, masked CRC of the 8 length bytes, payload, masked CRC of the payload (little endian).
std::string tfrecord(std::string_view payload);

class TbEventWriter {
 public:
  // Creates `dir` and dir/events.out.tfevents.<unix seconds>.<host>.<pid>, whose first record holds
  // file_version "brain.Event:2". Throws vg::Error when the folder or file cannot be written.
  explicit TbEventWriter(const std::filesystem::path& dir);
  ~TbEventWriter();
  TbEventWriter(const TbEventWriter&) = delete;
  TbEventWriter& operator=(const TbEventWriter&) = delete;

  void add_scalar(const std::string& tag, double value, int64_t step);
  // An image summary (8-bit PNG of `img`, 1..4 channels).
  void add_image(const std::string& tag, const Image& img, int64_t step);
  void flush();
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_event(const std::string& event);
  std::filesystem::path path_;
  std::FILE* f_ = nullptr;
};

}  // namespace vg
