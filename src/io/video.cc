#include "io/video.h"

#include "core/error.h"

#if VGSPLAT_HAS_VIDEO

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/fs.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

namespace vg {

struct FrameData {
  AVFrame* frame = nullptr;
  ~FrameData() { av_frame_free(&frame); }
};

namespace {

std::string av_error(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

std::string seconds(double t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f s", t);
  return buf;
}

// FFmpeg prints decoder complaints itself; vgsplat reports damage in its own words (one line each).
void quiet_ffmpeg_logs() { av_log_set_level(AV_LOG_FATAL); }

// The display matrix of the stream (nullptr when it has none).
const int32_t* display_matrix(const AVStream* st) {
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(60, 30, 100)  // FFmpeg 6.1 moved stream side data to codecpar
  const AVPacketSideData* sd = av_packet_side_data_get(st->codecpar->coded_side_data,
                                                       st->codecpar->nb_coded_side_data, AV_PKT_DATA_DISPLAYMATRIX);
  return sd && sd->size >= 36 ? reinterpret_cast<const int32_t*>(sd->data) : nullptr;
#else
  size_t size = 0;
  const uint8_t* sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
  return sd && size >= 36 ? reinterpret_cast<const int32_t*>(sd) : nullptr;
#endif
}

// Clockwise rotation (0/90/180/270) that shows the picture upright: the ffmpeg CLI's autorotate
// (fftools get_rotation: minus the matrix's counter-clockwise angle), snapped to quarter turns.
int upright_rotation(const AVStream* st) {
  const int32_t* m = display_matrix(st);
  if (!m) return 0;
  const double ccw = av_display_rotation_get(m);
  if (!std::isfinite(ccw)) return 0;
  const long quarter = std::lround(-ccw / 90.0);
  return static_cast<int>(((quarter % 4) + 4) % 4) * 90;
}

// `in` rotated clockwise by 90, 180 or 270 degrees into `out`; out(x', y') reads in(x, y).
void rotate(const RgbFrame& in, int deg, RgbFrame& out) {
  const int W = in.width, H = in.height;
  out.width = deg == 180 ? W : H;
  out.height = deg == 180 ? H : W;
  out.pixels.resize(in.pixels.size());
  for (int yo = 0; yo < out.height; ++yo)
    for (int xo = 0; xo < out.width; ++xo) {
      int x, y;
      if (deg == 90) x = yo, y = H - 1 - xo;         // top row -> right column
      else if (deg == 180) x = W - 1 - xo, y = H - 1 - yo;
      else x = W - 1 - yo, y = xo;                   // 270: top row -> left column
      std::memcpy(&out.pixels[(static_cast<size_t>(yo) * out.width + xo) * 3],
                  &in.pixels[(static_cast<size_t>(y) * W + x) * 3], 3);
    }
}

bool is_full_range(const AVFrame* f) {
  const auto fmt = static_cast<AVPixelFormat>(f->format);
  return f->color_range == AVCOL_RANGE_JPEG || fmt == AV_PIX_FMT_YUVJ420P || fmt == AV_PIX_FMT_YUVJ422P ||
         fmt == AV_PIX_FMT_YUVJ444P;
}

}  // namespace

bool video_supported() { return true; }

const char* video_unsupported_message() { return ""; }

// ---- reader ------------------------------------------------------------------------------------

struct VideoReader::Impl {
  std::string path;
  AVFormatContext* fmt = nullptr;
  AVCodecContext* dec = nullptr;
  AVPacket* pkt = nullptr;
  int stream = -1;
  double time_base = 0, start = 0;
  VideoInfo info;
  int64_t count = 0;               // frames output
  std::vector<int64_t> sent_pts;    // pts of every packet sent, sorted: presentation ranks
  bool all_pts = true;              // every packet had a pts (else indices count output frames)
  double packets_end = -1;          // time of the latest packet read (skipped pictures included)
  std::function<bool(double, double)> skip;
  double last_time = -1;
  bool draining = false;
  std::string stopped;
  std::vector<std::string> warnings;
  mutable SwsContext* sws = nullptr;
  mutable RgbFrame scratch;  // the coded-orientation picture of a rotated video
  mutable uint8_t* sws_out = nullptr;  // libswscale's destination: padded rows (see to_rgb)
  mutable size_t sws_out_size = 0;

  ~Impl() {
    av_free(sws_out);
    sws_freeContext(sws);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
  }

  void open();
  void note_packet(double time);
  void describe(const AVStream* st, const AVCodec* codec);
  bool receive(DecodedFrame& out);
  void check_complete();
};

void VideoReader::Impl::open() {
  quiet_ffmpeg_logs();
  std::error_code ec;
  VG_CHECK(fs::exists(path, ec), "cannot open video ", path, ": no such file");
  VG_CHECK(fs::is_regular_file(path, ec), "cannot open video ", path, ": not a regular file");
  int ret = avformat_open_input(&fmt, path.c_str(), nullptr, nullptr);
  VG_CHECK(ret >= 0, "cannot open video ", path, ": ", av_error(ret));
  ret = avformat_find_stream_info(fmt, nullptr);
  VG_CHECK(ret >= 0, "cannot read video ", path, ": ", av_error(ret));
  const AVCodec* codec = nullptr;
  stream = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  VG_CHECK(stream != AVERROR_DECODER_NOT_FOUND, "cannot read video ", path,
           ": no decoder for its video stream in this FFmpeg build");
  VG_CHECK(stream >= 0 && !(fmt->streams[stream]->disposition & AV_DISPOSITION_ATTACHED_PIC), "cannot read video ",
           path, ": the file has no video stream");
  const AVStream* st = fmt->streams[stream];
  dec = avcodec_alloc_context3(codec);
  VG_CHECK(dec, "cannot read video ", path, ": out of memory");
  ret = avcodec_parameters_to_context(dec, st->codecpar);
  VG_CHECK(ret >= 0, "cannot read video ", path, ": ", av_error(ret));
  dec->thread_count = 0;  // one per core
  dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  ret = avcodec_open2(dec, codec, nullptr);
  VG_CHECK(ret >= 0, "cannot open the ", codec->name, " decoder for ", path, ": ", av_error(ret));
  pkt = av_packet_alloc();
  VG_CHECK(pkt, "cannot read video ", path, ": out of memory");
  describe(st, codec);
}

void VideoReader::Impl::describe(const AVStream* st, const AVCodec* codec) {
  time_base = av_q2d(st->time_base);
  start = st->start_time != AV_NOPTS_VALUE ? st->start_time * time_base : 0.0;
  info.rotation = upright_rotation(st);
  const bool swap = info.rotation == 90 || info.rotation == 270;
  info.width = swap ? st->codecpar->height : st->codecpar->width;
  info.height = swap ? st->codecpar->width : st->codecpar->height;
  if (st->duration != AV_NOPTS_VALUE && st->duration > 0) info.duration = st->duration * time_base;
  else if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0) info.duration = fmt->duration / double(AV_TIME_BASE);
  if (st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0) info.avg_fps = av_q2d(st->avg_frame_rate);
  info.frame_count = st->nb_frames;
  info.codec = codec->name;
  const AVPixFmtDescriptor* pix = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(st->codecpar->format));
  info.chroma_420 = pix && pix->log2_chroma_w == 1 && pix->log2_chroma_h == 1;
}

// One decoded frame out of the decoder, if it has one ready; pictures it rejects are skipped.
bool VideoReader::Impl::receive(DecodedFrame& out) {
  auto data = std::make_shared<FrameData>();
  data->frame = av_frame_alloc();
  VG_CHECK(data->frame, "cannot read video ", path, ": out of memory");
  int ret, tries = 0;
  while ((ret = avcodec_receive_frame(dec, data->frame)) < 0) {
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF || ++tries > 64) return false;
    warnings.push_back("skipped an undecodable picture after frame " + std::to_string(count) + " (" +
                       seconds(std::max(last_time, 0.0)) + "): " + av_error(ret));
  }
  const int64_t ts = data->frame->best_effort_timestamp;
  const double step = info.avg_fps > 0 ? 1.0 / info.avg_fps : 1.0 / 30;
  out.time = ts != AV_NOPTS_VALUE ? ts * time_base - start : last_time + step;
  // Presentation rank among the packets sent: a frame is output only after every earlier-presented one was sent.
  out.index = all_pts && ts != AV_NOPTS_VALUE
                  ? std::lower_bound(sent_pts.begin(), sent_pts.end(), ts) - sent_pts.begin()
                  : count;
  ++count;
  out.data = std::move(data);
  last_time = out.time;
  return true;
}

// Records the packet's pts (for presentation ranks) and sets the decoder's skip mode for it.
void VideoReader::Impl::note_packet(double time) {
  if (pkt->pts == AV_NOPTS_VALUE) all_pts = false;
  else sent_pts.insert(std::upper_bound(sent_pts.begin(), sent_pts.end(), pkt->pts), pkt->pts);
  const double duration = pkt->duration > 0 ? pkt->duration * time_base : 0.0;
  packets_end = std::max(packets_end, time);
  const bool skip_it = skip && all_pts && skip(time, duration);
  dec->skip_frame = skip_it ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;  // frame threads copy it per packet
}

// A stream that ended well before its stated duration was cut short.
void VideoReader::Impl::check_complete() {
  if (!stopped.empty() || info.duration <= 0) return;
  const double step = info.avg_fps > 0 ? 1.0 / info.avg_fps : 0.1;
  const double end = std::max(last_time, packets_end);
  if (end + 2.5 * step < info.duration)
    stopped = "the video ends at " + seconds(std::max(end, 0.0)) + " (frame " + std::to_string(count) +
              "), before its stated duration " + seconds(info.duration) + " (truncated file?)";
}

VideoReader::VideoReader(const fs::path& path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path.string();
  impl_->open();
}

VideoReader::~VideoReader() = default;

const VideoInfo& VideoReader::info() const { return impl_->info; }
void VideoReader::set_skip(std::function<bool(double, double)> skip) { impl_->skip = std::move(skip); }
const std::string& VideoReader::stopped_early() const { return impl_->stopped; }
const std::vector<std::string>& VideoReader::warnings() const { return impl_->warnings; }

bool VideoReader::next(DecodedFrame& f) {
  Impl& m = *impl_;
  while (true) {
    if (m.receive(f)) return true;
    if (m.draining) {
      m.check_complete();
      return false;
    }
    const int ret = av_read_frame(m.fmt, m.pkt);
    if (ret < 0) {
      if (ret != AVERROR_EOF)
        m.stopped = "reading stopped after frame " + std::to_string(m.count) + " (" +
                    seconds(std::max(m.last_time, 0.0)) + "): " + av_error(ret);
      avcodec_send_packet(m.dec, nullptr);  // drain the frames still in the decoder
      m.draining = true;
      continue;
    }
    if (m.pkt->stream_index == m.stream) {
      const double pos = m.pkt->pts != AV_NOPTS_VALUE ? m.pkt->pts * m.time_base - m.start : m.last_time;
      m.note_packet(pos);
      const int sent = avcodec_send_packet(m.dec, m.pkt);
      if (sent < 0 && sent != AVERROR(EAGAIN))
        m.warnings.push_back("skipped a corrupt packet at " + seconds(std::max(pos, 0.0)) + " (after frame " +
                             std::to_string(m.count) + "): " + av_error(sent));
    }
    av_packet_unref(m.pkt);
  }
}

RgbFrame VideoReader::to_rgb(const DecodedFrame& f, int max_size) const {
  RgbFrame out;
  to_rgb(f, max_size, out);
  return out;
}

void VideoReader::to_rgb(const DecodedFrame& f, int max_size, RgbFrame& out) const {
  VG_CHECK(f.data && f.data->frame, "VideoReader::to_rgb: empty frame");
  const AVFrame* src = f.data->frame;
  const int w = src->width, h = src->height;
  const int longest = std::max(w, h);
  const double s = max_size > 0 && longest > max_size ? double(max_size) / longest : 1.0;
  const int rotation = impl_->info.rotation;
  RgbFrame& rgb = rotation == 0 ? out : impl_->scratch;  // coded orientation
  rgb.width = std::max(1, static_cast<int>(std::lround(w * s)));
  rgb.height = std::max(1, static_cast<int>(std::lround(h * s)));
  rgb.pixels.resize(static_cast<size_t>(rgb.width) * rgb.height * 3);
  // No scaling: libswscale's SIMD YUV -> RGB path (bilinear chroma); downscaling: an area filter.
  const int flags = s < 1 ? SWS_AREA : SWS_BILINEAR;
  impl_->sws = sws_getCachedContext(impl_->sws, w, h, static_cast<AVPixelFormat>(src->format), rgb.width, rgb.height,
                                    AV_PIX_FMT_RGB24, flags, nullptr, nullptr, nullptr);
  VG_CHECK(impl_->sws, "cannot convert frame ", f.index, " of ", impl_->path, " to RGB");
  const int* coeffs = sws_getCoefficients(src->colorspace);  // unspecified -> BT.601, as the ffmpeg CLI
  sws_setColorspaceDetails(impl_->sws, coeffs, is_full_range(src) ? 1 : 0, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0,
                           1 << 16, 1 << 16);
  // libswscale's SIMD writers store whole vectors and may run past a row's last pixel (and past the
  // picture's end: heap corruption on odd sizes from damaged files): convert into 64-byte aligned rows
  // with a spare row, then copy the pixels out.
  const int stride = FFALIGN(rgb.width * 3, 64);
  const size_t need = static_cast<size_t>(stride) * (rgb.height + 1) + 64;
  if (impl_->sws_out_size < need) {
    av_freep(&impl_->sws_out);
    impl_->sws_out = static_cast<uint8_t*>(av_malloc(need));
    impl_->sws_out_size = impl_->sws_out ? need : 0;
    VG_CHECK(impl_->sws_out, "cannot convert frame ", f.index, " of ", impl_->path, ": out of memory");
  }
  uint8_t* dst[4] = {impl_->sws_out, nullptr, nullptr, nullptr};
  int dst_stride[4] = {stride, 0, 0, 0};
  sws_scale(impl_->sws, src->data, src->linesize, 0, h, dst, dst_stride);
  for (int y = 0; y < rgb.height; ++y)
    std::memcpy(&rgb.pixels[static_cast<size_t>(y) * rgb.width * 3], impl_->sws_out + static_cast<size_t>(y) * stride,
                static_cast<size_t>(rgb.width) * 3);
  if (rotation != 0) rotate(rgb, rotation, out);
}

// ---- writer ------------------------------------------------------------------------------------

struct VideoWriter::Impl {
  fs::path path;
  std::unique_ptr<AtomicFile> file;
  AVFormatContext* oc = nullptr;
  AVCodecContext* enc = nullptr;
  AVStream* st = nullptr;
  AVFrame* yuv = nullptr;
  AVPacket* pkt = nullptr;
  SwsContext* sws = nullptr;
  int width = 0, height = 0;  // of the frames given; the encoded size is rounded up to even
  int64_t next_pts = 0;
  std::string encoder;
  bool closed = false;
  std::vector<uint8_t> padded;

  ~Impl() {
    sws_freeContext(sws);
    av_frame_free(&yuv);
    av_packet_free(&pkt);
    avcodec_free_context(&enc);
    if (oc && oc->pb) avio_closep(&oc->pb);
    avformat_free_context(oc);
  }

  bool try_encoder(const AVCodec* codec, AVRational rate);
  void open_encoder(double fps);
  void encode(const AVFrame* frame);
};

// libx264 at CRF 18 (visually lossless); other encoders at a fixed high quality.
bool VideoWriter::Impl::try_encoder(const AVCodec* codec, AVRational rate) {
  if (!codec) return false;
  avcodec_free_context(&enc);
  enc = avcodec_alloc_context3(codec);
  if (!enc) return false;
  enc->width = width + (width & 1);
  enc->height = height + (height & 1);
  enc->pix_fmt = AV_PIX_FMT_YUV420P;
  enc->framerate = rate;
  enc->time_base = av_inv_q(rate);
  enc->gop_size = 30;
  if (oc->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* opts = nullptr;
  if (std::strcmp(codec->name, "libx264") == 0) {
    av_dict_set(&opts, "crf", "18", 0);
    av_dict_set(&opts, "preset", "medium", 0);
  } else if (codec->id == AV_CODEC_ID_MPEG4) {
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * 2;
  } else {
    enc->bit_rate = static_cast<int64_t>(enc->width) * enc->height * 8;  // ~8 bits/pixel/s: high quality
  }
  const int ret = avcodec_open2(enc, codec, &opts);
  av_dict_free(&opts);
  if (ret < 0) return false;
  encoder = codec->name;
  return true;
}

// libx264, else any other H.264 encoder of this FFmpeg build, else MPEG-4 part 2.
void VideoWriter::Impl::open_encoder(double fps) {
  const AVRational rate = av_d2q(fps, 100000);
  if (try_encoder(avcodec_find_encoder_by_name("libx264"), rate)) return;
  if (try_encoder(avcodec_find_encoder(AV_CODEC_ID_H264), rate)) return;
  VG_CHECK(try_encoder(avcodec_find_encoder(AV_CODEC_ID_MPEG4), rate), "cannot write ", path.string(),
           ": this FFmpeg build has neither an H.264 nor an MPEG-4 encoder");
}

void VideoWriter::Impl::encode(const AVFrame* frame) {
  int ret = avcodec_send_frame(enc, frame);
  VG_CHECK(ret >= 0, "cannot encode ", path.string(), ": ", av_error(ret));
  while ((ret = avcodec_receive_packet(enc, pkt)) >= 0) {
    pkt->duration = 1;  // one frame (time_base = 1 / fps): the last frame counts in the stream duration
    av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
    pkt->stream_index = st->index;
    ret = av_interleaved_write_frame(oc, pkt);
    VG_CHECK(ret >= 0, "cannot write ", path.string(), ": ", av_error(ret));
  }
  VG_CHECK(ret == AVERROR(EAGAIN) || ret == AVERROR_EOF, "cannot encode ", path.string(), ": ", av_error(ret));
}

VideoWriter::VideoWriter(const fs::path& path, int width, int height, double fps) : impl_(std::make_unique<Impl>()) {
  quiet_ffmpeg_logs();
  Impl& m = *impl_;
  VG_CHECK(width > 0 && height > 0 && fps > 0, "cannot write ", path.string(), ": bad size ", width, "x", height,
           " or frame rate ", fps);
  m.path = path;
  m.width = width;
  m.height = height;
  m.file = std::make_unique<AtomicFile>(path);
  const std::string tmp = m.file->temp_path().string();
  int ret = avformat_alloc_output_context2(&m.oc, nullptr, "mp4", tmp.c_str());
  VG_CHECK(ret >= 0 && m.oc, "cannot write ", path.string(), ": ", av_error(ret));
  m.open_encoder(fps);
  m.st = avformat_new_stream(m.oc, nullptr);
  VG_CHECK(m.st, "cannot write ", path.string(), ": out of memory");
  m.st->time_base = m.enc->time_base;
  ret = avcodec_parameters_from_context(m.st->codecpar, m.enc);
  VG_CHECK(ret >= 0, "cannot write ", path.string(), ": ", av_error(ret));
  ret = avio_open(&m.oc->pb, tmp.c_str(), AVIO_FLAG_WRITE);
  VG_CHECK(ret >= 0, "cannot write ", path.string(), ": ", av_error(ret));
  AVDictionary* mux = nullptr;
  av_dict_set(&mux, "movflags", "+faststart", 0);  // index first: plays while downloading
  ret = avformat_write_header(m.oc, &mux);
  av_dict_free(&mux);
  VG_CHECK(ret >= 0, "cannot write ", path.string(), ": ", av_error(ret));
  m.pkt = av_packet_alloc();
  m.yuv = av_frame_alloc();
  VG_CHECK(m.pkt && m.yuv, "cannot write ", path.string(), ": out of memory");
  m.yuv->format = m.enc->pix_fmt;
  m.yuv->width = m.enc->width;
  m.yuv->height = m.enc->height;
  ret = av_frame_get_buffer(m.yuv, 0);
  VG_CHECK(ret >= 0, "cannot write ", path.string(), ": ", av_error(ret));
  m.sws = sws_getContext(m.enc->width, m.enc->height, AV_PIX_FMT_RGB24, m.enc->width, m.enc->height,
                         AV_PIX_FMT_YUV420P, SWS_BICUBIC | SWS_ACCURATE_RND, nullptr, nullptr, nullptr);
  VG_CHECK(m.sws, "cannot write ", path.string(), ": no RGB -> YUV conversion");
}

VideoWriter::~VideoWriter() = default;

const std::string& VideoWriter::encoder_name() const { return impl_->encoder; }

void VideoWriter::write(const RgbFrame& f) {
  Impl& m = *impl_;
  VG_CHECK(!m.closed, "cannot write ", m.path.string(), ": already closed");
  VG_CHECK(f.width == m.width && f.height == m.height && f.pixels.size() == size_t(f.width) * f.height * 3,
           "cannot write ", m.path.string(), ": frame is ", f.width, "x", f.height, ", the video ", m.width, "x",
           m.height);
  const int W = m.enc->width, H = m.enc->height;  // padded by replicating the last column / row
  m.padded.resize(static_cast<size_t>(W) * H * 3);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      std::memcpy(&m.padded[(static_cast<size_t>(y) * W + x) * 3],
                  &f.pixels[(static_cast<size_t>(std::min(y, f.height - 1)) * f.width + std::min(x, f.width - 1)) * 3],
                  3);
  int ret = av_frame_make_writable(m.yuv);
  VG_CHECK(ret >= 0, "cannot write ", m.path.string(), ": ", av_error(ret));
  const uint8_t* src[4] = {m.padded.data(), nullptr, nullptr, nullptr};
  const int src_stride[4] = {W * 3, 0, 0, 0};
  sws_scale(m.sws, src, src_stride, 0, H, m.yuv->data, m.yuv->linesize);
  m.yuv->pts = m.next_pts++;
  m.encode(m.yuv);
}

void VideoWriter::close() {
  Impl& m = *impl_;
  if (m.closed) return;
  m.closed = true;
  m.encode(nullptr);
  int ret = av_write_trailer(m.oc);
  VG_CHECK(ret >= 0, "cannot write ", m.path.string(), ": ", av_error(ret));
  ret = avio_closep(&m.oc->pb);
  VG_CHECK(ret >= 0, "cannot write ", m.path.string(), ": ", av_error(ret));
  m.file->commit();
}

}  // namespace vg

#else  // !VGSPLAT_HAS_VIDEO: every entry point says how to get video support

namespace vg {

struct FrameData {};
struct VideoReader::Impl {};
struct VideoWriter::Impl {};

bool video_supported() { return false; }

const char* video_unsupported_message() {
  return "vgsplat was built without FFmpeg: apt-get install libavformat-dev libavcodec-dev libswscale-dev and "
         "rebuild";
}

VideoReader::VideoReader(const std::filesystem::path&) { VG_FAIL(video_unsupported_message()); }
VideoReader::~VideoReader() = default;
const VideoInfo& VideoReader::info() const { VG_FAIL(video_unsupported_message()); }
bool VideoReader::next(DecodedFrame&) { VG_FAIL(video_unsupported_message()); }
RgbFrame VideoReader::to_rgb(const DecodedFrame&, int) const { VG_FAIL(video_unsupported_message()); }
void VideoReader::to_rgb(const DecodedFrame&, int, RgbFrame&) const { VG_FAIL(video_unsupported_message()); }
const std::string& VideoReader::stopped_early() const { VG_FAIL(video_unsupported_message()); }
void VideoReader::set_skip(std::function<bool(double, double)>) { VG_FAIL(video_unsupported_message()); }
const std::vector<std::string>& VideoReader::warnings() const { VG_FAIL(video_unsupported_message()); }

VideoWriter::VideoWriter(const std::filesystem::path&, int, int, double) { VG_FAIL(video_unsupported_message()); }
VideoWriter::~VideoWriter() = default;
void VideoWriter::write(const RgbFrame&) { VG_FAIL(video_unsupported_message()); }
void VideoWriter::close() { VG_FAIL(video_unsupported_message()); }
const std::string& VideoWriter::encoder_name() const { VG_FAIL(video_unsupported_message()); }

}  // namespace vg

#endif
