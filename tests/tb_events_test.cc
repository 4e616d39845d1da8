// TensorBoard event files (src/io/tb_events.h): CRC-32C against its published check value, TFRecord framing, and
// the writer's files decoded by an independent reader: protoc's decoder generated from the published field
// numbers (tests/data/tensorboard/*.proto, decode_events.py; TensorBoard's EventAccumulator too where installed).
// The independent part runs where protoc and python3-protobuf are installed (CI installs them) and skips elsewhere.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/tb_events.h"
#include "temp_dir.h"
#include "test_util.h"

namespace vg {
namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

uint64_t le(const std::string& s, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(s[pos + i])) << (8 * i);
  return v;
}

// The payloads of a TFRecord file, every CRC checked.
std::vector<std::string> records(const std::string& file) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < file.size()) {
    EXPECT_LE(pos + 12, file.size());
    const uint64_t n = le(file, pos, 8);
    EXPECT_EQ(le(file, pos + 8, 4), masked_crc32c(file.data() + pos, 8));
    EXPECT_LE(pos + 16 + n, file.size());
    out.push_back(file.substr(pos + 12, n));
    EXPECT_EQ(le(file, pos + 12 + n, 4), masked_crc32c(file.data() + pos + 12, n));
    pos += 16 + n;
  }
  return out;
}

std::string run_capture(const std::string& cmd, int* rc) {
  std::FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *rc = p ? pclose(p) : -1;
  return out;
}

TEST(TbEvents, Crc32cCheckValue) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);  // the CRC-32C catalogue's check value
  EXPECT_EQ(crc32c("", 0), 0u);
  // Incremental = one pass.
  EXPECT_EQ(crc32c("6789", 4, crc32c("12345", 5)), 0xE3069283u);
  const uint32_t c = crc32c("abc", 3);
  EXPECT_EQ(masked_crc32c("abc", 3), ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

TEST(TbEvents, RecordFraming) {
  const std::string r = tfrecord("hello");
  ASSERT_EQ(r.size(), 8u + 4 + 5 + 4);
  EXPECT_EQ(le(r, 0, 8), 5u);
  EXPECT_EQ(r.substr(12, 5), "hello");
  EXPECT_EQ(records(r), std::vector<std::string>{"hello"});
}

Image gradient(int w, int h) {
  Image im;
  im.width = w;
  im.height = h;
  im.channels = 3;
  for (int i = 0; i < w * h * 3; ++i) im.pixels.push_back(static_cast<float>(i % 251) / 250.0f);
  return im;
}

TEST(TbEvents, WriterFileDecodesIndependently) {
  test::TempDir tmp("tb_events");
  std::filesystem::path file;
  {
    TbEventWriter w(tmp.path / "tb");
    file = w.path();
    w.add_scalar("train/loss", 0.25, 0);
    w.add_scalar("train/loss", 0.125, 100);
    w.add_scalar("train/num_GS", 123456, 100);
    w.add_image("train/render", gradient(6, 4), 100);
    w.flush();
  }
  EXPECT_EQ(file.parent_path(), tmp.path / "tb");
  EXPECT_EQ(file.filename().string().rfind("events.out.tfevents.", 0), 0u);
  const std::vector<std::string> recs = records(read_all(file));
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_NE(recs[0].find("brain.Event:2"), std::string::npos);

  int rc = 0;
  std::string python;  // the first interpreter that has protobuf (Debian's python3-protobuf is for /usr/bin/python3)
  for (const char* py : {"python3", "/usr/bin/python3"}) {
    run_capture(std::string(py) + " -c 'import google.protobuf' 2>/dev/null", &rc);
    if (rc == 0 && python.empty()) python = py;
  }
  run_capture("command -v protoc", &rc);
  if (rc != 0 || python.empty())
    GTEST_SKIP() << "protoc / python3-protobuf not installed (apt-get install protobuf-compiler python3-protobuf)";
  const std::filesystem::path schema = test::source_dir() / "tests" / "data" / "tensorboard";
  const std::string gen = (tmp.path / "gen").string();
  std::filesystem::create_directories(gen);
  run_capture("protoc -I " + schema.string() + " --python_out=" + gen + " " + (schema / "event.proto").string() + " " +
                  (schema / "summary.proto").string() + " 2>&1",
              &rc);
  ASSERT_EQ(rc, 0) << "protoc failed";
  const std::string out =
      run_capture(python + " " + (schema / "decode_events.py").string() + " " + gen + " " + file.string() + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out;
  std::vector<nlohmann::json> ev;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) ev.push_back(nlohmann::json::parse(line));
  ASSERT_GE(ev.size(), 5u) << out;
  EXPECT_EQ(ev[0]["file_version"], "brain.Event:2");
  EXPECT_GT(ev[0]["wall_time"].get<double>(), 1.6e9);
  EXPECT_EQ(ev[1]["step"], 0);
  EXPECT_FLOAT_EQ(ev[1]["scalars"]["train/loss"].get<float>(), 0.25f);
  EXPECT_EQ(ev[2]["step"], 100);
  EXPECT_FLOAT_EQ(ev[2]["scalars"]["train/loss"].get<float>(), 0.125f);
  EXPECT_FLOAT_EQ(ev[3]["scalars"]["train/num_GS"].get<float>(), 123456.f);
  const auto im = ev[4]["images"]["train/render"];
  EXPECT_EQ(im[0], 4);
  EXPECT_EQ(im[1], 6);
  EXPECT_EQ(im[2], 3);
  EXPECT_EQ(im[4], "89504e470d0a1a0a");  // the PNG signature
  for (size_t i = 5; i < ev.size(); ++i)  // TensorBoard's own EventAccumulator, where installed
    if (ev[i].contains("accumulator") && ev[i]["accumulator"] == "train/loss")
      EXPECT_EQ(ev[i]["values"].size(), 2u);
}

TEST(TbEvents, UnwritableFolderIsOneClearError) {
  test::TempDir tmp("tb_events_bad");
  std::ofstream(tmp.path / "file") << "x";
  const std::string e = test::error_of([&] { TbEventWriter w(tmp.path / "file" / "tb"); });
  EXPECT_NE(e.find("TensorBoard: cannot create"), std::string::npos) << e;
}

}  // namespace
}  // namespace vg
