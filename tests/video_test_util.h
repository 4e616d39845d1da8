// Test-only video encoder (libavformat + libavcodec directly, independent of io/video.cc's writer):
// synthetic frames with chosen timestamps (VFR), an optional display matrix (rotation metadata).
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "io/video.h"

#if VGSPLAT_HAS_VIDEO
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libswscale/swscale.h>
}
#endif

namespace vg::test {

// Frame k of the moving test pattern: R encodes k, G has vertical stripes moving 2 px per frame, B a ramp.
inline RgbFrame pattern_frame(int k, int width, int height) {
  RgbFrame f;
  f.width = width;
  f.height = height;
  f.pixels.resize(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      uint8_t* p = &f.pixels[(static_cast<size_t>(y) * width + x) * 3];
      p[0] = static_cast<uint8_t>(40 + (k * 7) % 175);
      p[1] = static_cast<uint8_t>(((x + 2 * k) % 32) < 16 ? 190 : 40);
      p[2] = static_cast<uint8_t>(60 + (y * 120) / height);
    }
  return f;
}

inline double mean_abs_diff(const RgbFrame& a, const RgbFrame& b) {
  if (a.width != b.width || a.height != b.height) return 1e9;
  double s = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) s += std::abs(int(a.pixels[i]) - int(b.pixels[i]));
  return s / static_cast<double>(a.pixels.size());
}

struct TestVideo {
  int width = 64, height = 48;
  std::vector<int64_t> pts_ms;  // presentation time of each frame in milliseconds
  int64_t last_duration_ms = 33;
  int display_rotation = 0;     // av_display_rotation_set's angle for the display matrix; 0: none
  bool faststart = true;        // moov before mdat (a truncated file keeps its index)
  int b_frames = 0;             // MPEG-4 B-frames (non-reference): packets out of presentation order
};

#if VGSPLAT_HAS_VIDEO
// MPEG-4 part 2 at qscale 2 (always in libavcodec) in MP4.
inline void encode_test_video(const std::filesystem::path& path, const TestVideo& v) {
  AVFormatContext* oc = nullptr;
  avformat_alloc_output_context2(&oc, nullptr, "mp4", path.c_str());
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
  AVCodecContext* enc = avcodec_alloc_context3(codec);
  enc->width = v.width;
  enc->height = v.height;
  enc->pix_fmt = AV_PIX_FMT_YUV420P;
  enc->time_base = {1, 1000};
  enc->framerate = {30, 1};
  enc->max_b_frames = v.b_frames;
  enc->gop_size = 10;
  enc->flags |= AV_CODEC_FLAG_QSCALE | AV_CODEC_FLAG_GLOBAL_HEADER;
  enc->global_quality = FF_QP2LAMBDA * 2;
  avcodec_open2(enc, codec, nullptr);
  AVStream* st = avformat_new_stream(oc, nullptr);
  st->time_base = {1, 1000};
  avcodec_parameters_from_context(st->codecpar, enc);
  if (v.display_rotation != 0) {
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(60, 30, 100)
    AVPacketSideData* sd = av_packet_side_data_new(&st->codecpar->coded_side_data, &st->codecpar->nb_coded_side_data,
                                                   AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t), 0);
    av_display_rotation_set(reinterpret_cast<int32_t*>(sd->data), v.display_rotation);
#else
    uint8_t* sd = av_stream_new_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t));
    av_display_rotation_set(reinterpret_cast<int32_t*>(sd), v.display_rotation);
#endif
  }
  avio_open(&oc->pb, path.c_str(), AVIO_FLAG_WRITE);
  AVDictionary* mux = nullptr;
  if (v.faststart) av_dict_set(&mux, "movflags", "+faststart", 0);
  if (avformat_write_header(oc, &mux) < 0) std::abort();
  av_dict_free(&mux);
  AVFrame* fr = av_frame_alloc();
  fr->format = AV_PIX_FMT_YUV420P;
  fr->width = v.width;
  fr->height = v.height;
  av_frame_get_buffer(fr, 0);
  SwsContext* sws = sws_getContext(v.width, v.height, AV_PIX_FMT_RGB24, v.width, v.height, AV_PIX_FMT_YUV420P,
                                   SWS_BICUBIC | SWS_ACCURATE_RND, nullptr, nullptr, nullptr);
  AVPacket* pkt = av_packet_alloc();
  const size_t n = v.pts_ms.size();
  auto drain = [&] {
    while (avcodec_receive_packet(enc, pkt) == 0) {
      size_t k = 0;  // the frame's duration: look it up by pts
      while (k < n && v.pts_ms[k] != pkt->pts) ++k;
      pkt->duration = k + 1 < n ? v.pts_ms[k + 1] - v.pts_ms[k] : v.last_duration_ms;
      av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
      pkt->stream_index = 0;
      av_interleaved_write_frame(oc, pkt);
    }
  };
  for (size_t k = 0; k < n; ++k) {
    const RgbFrame rgb = pattern_frame(static_cast<int>(k), v.width, v.height);
    av_frame_make_writable(fr);
    const uint8_t* src[4] = {rgb.pixels.data(), nullptr, nullptr, nullptr};
    const int stride[4] = {v.width * 3, 0, 0, 0};
    sws_scale(sws, src, stride, 0, v.height, fr->data, fr->linesize);
    fr->pts = v.pts_ms[k];
    avcodec_send_frame(enc, fr);
    drain();
  }
  avcodec_send_frame(enc, nullptr);
  drain();
  av_write_trailer(oc);
  avio_closep(&oc->pb);
  av_packet_free(&pkt);
  sws_freeContext(sws);
  av_frame_free(&fr);
  avcodec_free_context(&enc);
  avformat_free_context(oc);
}
#else
inline void encode_test_video(const std::filesystem::path&, const TestVideo&) {}  // tests skip before calling it
#endif

// n frames at 30 fps.
inline TestVideo cfr_video(int n) {
  TestVideo v;
  for (int k = 0; k < n; ++k) v.pts_ms.push_back((k * 1000 + 15) / 30);
  return v;
}

}  // namespace vg::test
