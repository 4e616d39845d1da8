// PyTorch checkpoint reader: the legacy lpips weight files in shared data, and a zip-format archive
// built here byte by byte the way torch.save lays it out (no torch on this machine).
#include <gtest/gtest.h>

#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/fs.h"
#include "io/safetensors.h"
#include "io/torch_pickle.h"
#include "test_util.h"

namespace vg {
namespace {

fs::path lpips_weights(const std::string& version, const std::string& net) {
  return test::data_dir() / "lpips" / "weights" / version / (net + ".pth");
}

TEST(TorchPickle, LegacyLpipsAlex) {
  auto sd = load_torch_state_dict(lpips_weights("v0.1", "alex"));
  ASSERT_EQ(sd.size(), 5u);
  const int64_t channels[5] = {64, 192, 384, 256, 256};
  for (int k = 0; k < 5; ++k) {
    const std::string key = "lin" + std::to_string(k) + ".model.1.weight";
    ASSERT_TRUE(sd.count(key)) << key;
    const Tensor& t = sd.at(key);
    EXPECT_EQ(t.dtype(), DType::F32);
    EXPECT_EQ(t.shape(), (Shape{1, channels[k], 1, 1}));
    double sum = 0;
    for (float v : t.to_vector<float>()) {
      EXPECT_TRUE(std::isfinite(v));
      EXPECT_GE(v, 0.f) << key;  // trained lpips weights are clamped non-negative
      sum += v;
    }
    EXPECT_GT(sum, 0.0) << key;
  }
}

TEST(TorchPickle, LegacyLpipsOtherNets) {
  const std::vector<int64_t> vgg = {64, 128, 256, 512, 512}, squeeze = {64, 128, 256, 384, 384, 512, 512};
  for (const char* version : {"v0.0", "v0.1"}) {
    auto v = load_torch_state_dict(lpips_weights(version, "vgg"));
    ASSERT_EQ(v.size(), vgg.size()) << version;
    for (size_t k = 0; k < vgg.size(); ++k)
      EXPECT_EQ(v.at("lin" + std::to_string(k) + ".model.1.weight").shape(), (Shape{1, vgg[k], 1, 1}));
    auto s = load_torch_state_dict(lpips_weights(version, "squeeze"));
    ASSERT_EQ(s.size(), squeeze.size()) << version;
    for (size_t k = 0; k < squeeze.size(); ++k)
      EXPECT_EQ(s.at("lin" + std::to_string(k) + ".model.1.weight").shape(), (Shape{1, squeeze[k], 1, 1}));
  }
}

TEST(TorchPickle, LegacyTruncatedOrGarbage) {
  const fs::path path = lpips_weights("v0.1", "alex");
  const std::string bytes = read_file(path);
  for (size_t cut : {size_t{3}, size_t{100}, size_t{700}, bytes.size() - 1000, bytes.size() - 1}) {
    try {
      parse_torch_checkpoint(std::string_view(bytes).substr(0, cut), "cut.pth");
      ADD_FAILURE() << "truncated at " << cut << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cut.pth"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(parse_torch_checkpoint("hello world", "text.pth"), Error);
  std::string bad_magic = bytes;
  bad_magic[5] ^= 0x55;
  EXPECT_THROW(parse_torch_checkpoint(bad_magic, "magic.pth"), Error);
}

// ---- a hand-made torch.save zip archive --------------------------------------------------------

// Pickle opcodes, written as torch.save (protocol 2) and Python 3.8+ (protocol 4 pieces) emit them.
struct Pickle {
  std::string b;
  Pickle& op(uint8_t c) { b.push_back(static_cast<char>(c)); return *this; }
  Pickle& u32(uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); return *this; }
  Pickle& str(const std::string& s) { op('X').u32(static_cast<uint32_t>(s.size())); b += s; return *this; }
  Pickle& short_str(const std::string& s) { op(0x8c).op(static_cast<uint8_t>(s.size())); b += s; return *this; }
  Pickle& global(const std::string& mod, const std::string& name) { op('c'); b += mod + "\n" + name + "\n"; return *this; }
  Pickle& int1(uint8_t v) { return op('K').op(v); }
  Pickle& long1(int64_t v) {  // LONG1 with 8 bytes (minimal encodings are shorter; the VM takes both)
    op(0x8a).op(8);
    b.append(reinterpret_cast<const char*>(&v), 8);
    return *this;
  }
  Pickle& int_tuple(const std::vector<uint8_t>& v) {
    op('(');
    for (uint8_t x : v) int1(x);
    return op('t');
  }
  // _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())
  Pickle& tensor(const std::string& storage_type, const std::string& key, int64_t numel, uint8_t offset,
                 const std::vector<uint8_t>& size, const std::vector<uint8_t>& stride) {
    global("torch._utils", "_rebuild_tensor_v2").op('(');
    op('(').str("storage").global("torch", storage_type).str(key).str("cpu").long1(numel).op('t').op('Q');
    int1(offset).int_tuple(size).int_tuple(stride).op(0x89);
    global("collections", "OrderedDict").op(')').op('R');
    return op('t').op('R');
  }
};

struct ZipWriter {  // stored entries, as PyTorchStreamWriter writes them
  std::string out, central;
  int count = 0;
  template <typename T> static void put(std::string& s, T v) { s.append(reinterpret_cast<const char*>(&v), sizeof(T)); }
  void add(const std::string& name, const std::string& data) {
    const uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
    const uint32_t local = static_cast<uint32_t>(out.size());
    const uint16_t pad = static_cast<uint16_t>((64 - (out.size() + 30 + name.size() + 4) % 64) % 64);
    put<uint32_t>(out, 0x04034b50); put<uint16_t>(out, 20); put<uint16_t>(out, 0); put<uint16_t>(out, 0);
    put<uint32_t>(out, 0); put<uint32_t>(out, crc); put<uint32_t>(out, data.size()); put<uint32_t>(out, data.size());
    put<uint16_t>(out, name.size()); put<uint16_t>(out, 4 + pad);
    out += name;
    put<uint16_t>(out, 0x1234); put<uint16_t>(out, pad);  // padding extra field: data 64-byte aligned
    out.append(pad, 'Z');
    out += data;
    put<uint32_t>(central, 0x02014b50); put<uint16_t>(central, 20); put<uint16_t>(central, 20);
    put<uint16_t>(central, 0); put<uint16_t>(central, 0); put<uint32_t>(central, 0); put<uint32_t>(central, crc);
    put<uint32_t>(central, data.size()); put<uint32_t>(central, data.size()); put<uint16_t>(central, name.size());
    put<uint16_t>(central, 0); put<uint16_t>(central, 0); put<uint16_t>(central, 0); put<uint16_t>(central, 0);
    put<uint32_t>(central, 0); put<uint32_t>(central, local);
    central += name;
    ++count;
  }
  std::string finish() const {
    std::string s = out + central;
    put<uint32_t>(s, 0x06054b50); put<uint16_t>(s, 0); put<uint16_t>(s, 0);
    put<uint16_t>(s, count); put<uint16_t>(s, count);
    put<uint32_t>(s, central.size()); put<uint32_t>(s, out.size()); put<uint16_t>(s, 0);
    return s;
  }
};

template <typename T> std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// {"weight": [2,3] float, "weight_t": its transpose (a strided view of the same storage),
//  "half": [4] float16, "steps": int64 view at offset 1, "bf": [2,2] bfloat16,
//  "sub": {"x": [3] float from the weight storage at offset 3}}
std::string make_archive(const std::string& prefix, Pickle* pickle_out = nullptr) {
  Pickle p;
  p.op(0x80).op(2);
  p.global("collections", "OrderedDict").op(')').op('R').op('q').op(0);
  p.op('(');
  p.str("weight").tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1});
  p.str("weight_t").tensor("FloatStorage", "0", 6, 0, {3, 2}, {1, 3});
  p.str("half").tensor("HalfStorage", "1", 4, 0, {4}, {1});
  p.str("steps").tensor("LongStorage", "2", 3, 1, {2}, {1});
  p.str("bf").tensor("BFloat16Storage", "3", 4, 0, {2, 2}, {2, 1});
  p.op('u');
  // A nested plain dict written with protocol-4 opcodes: SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE, BINGET.
  p.op('h').op(0).short_str("sub").op('}').op(0x94);
  p.short_str("x").short_str("torch._utils").short_str("_rebuild_tensor_v2").op(0x93).op('(');
  p.op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").long1(6).op('t').op('Q');
  p.int1(3).int1(3).op(0x85).int1(1).op(0x85).op(0x89).op('N').op('t').op('R');
  p.op('s');  // sub["x"] = tensor
  p.op('s');  // root["sub"] = sub
  p.op('0');  // drop the root copy fetched by BINGET
  p.op('.');
  if (pickle_out) *pickle_out = p;

  ZipWriter z;
  z.add(prefix + "/data.pkl", p.b);
  z.add(prefix + "/byteorder", "little");
  z.add(prefix + "/data/0", raw<float>({1, 2, 3, 4, 5, 6}));
  z.add(prefix + "/data/1", raw<uint16_t>({float_to_half(0.5f), float_to_half(-2.f), float_to_half(1e-3f),
                                           float_to_half(3000.f)}));
  z.add(prefix + "/data/2", raw<int64_t>({10, -20, int64_t{1} << 40}));
  z.add(prefix + "/data/3", raw<uint16_t>({float_to_bf16(1.5f), float_to_bf16(-0.25f), float_to_bf16(100.f),
                                           float_to_bf16(7.f)}));
  z.add(prefix + "/version", "3\n");
  z.add(prefix + "/.data/serialization_id", "1234567890");
  return z.finish();
}

TEST(TorchPickle, ZipArchive) {
  // The first statement leaves the root on the stack; "h 0" re-fetches it for the nested SETITEM
  // and POP drops the copy, so STOP returns the root dict.
  const std::string bytes = make_archive("mymodel");
  const fs::path path = fs::temp_directory_path() / ("vgsplat_torch_zip_" + std::to_string(getpid()) + ".pt");
  write_file_atomic(path, bytes);
  auto sd = load_torch_state_dict(path);
  fs::remove(path);
  ASSERT_EQ(sd.size(), 6u);
  EXPECT_EQ(sd.at("weight").shape(), (Shape{2, 3}));
  EXPECT_EQ(sd.at("weight").to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(sd.at("weight_t").shape(), (Shape{3, 2}));
  EXPECT_EQ(sd.at("weight_t").to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(sd.at("half").dtype(), DType::F32);
  EXPECT_EQ(sd.at("half").to_vector<float>(),
            (std::vector<float>{0.5f, -2.f, half_to_float(float_to_half(1e-3f)), 3000.f}));
  EXPECT_EQ(sd.at("steps").dtype(), DType::I64);
  EXPECT_EQ(sd.at("steps").to_vector<int64_t>(), (std::vector<int64_t>{-20, int64_t{1} << 40}));
  EXPECT_EQ(sd.at("bf").to_vector<float>(), (std::vector<float>{1.5f, -0.25f, 100.f, 7.f}));
  EXPECT_EQ(sd.at("sub.x").to_vector<float>(), (std::vector<float>{4, 5, 6}));

  // The zip layer on its own.
  StoredZip zip(bytes, "mem.pt");
  ASSERT_NE(zip.find("mymodel/version"), nullptr);
  EXPECT_EQ(zip.data(*zip.find("mymodel/version")), "3\n");
  EXPECT_EQ(zip.find("mymodel/data/0")->data_offset % 64, 0u);
}

TEST(TorchPickle, ZipRejects) {
  const std::string good = make_archive("archive");
  EXPECT_NO_THROW(parse_torch_checkpoint(good, "good.pt"));
  // Truncations: the central directory or the end record go missing.
  for (size_t cut : {good.size() - 10, good.size() / 2, size_t{40}}) {
    try {
      parse_torch_checkpoint(std::string_view(good).substr(0, cut), "cut.pt");
      ADD_FAILURE() << "cut at " << cut << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cut.pt"), std::string::npos) << e.what();
    }
  }
  // A missing storage record.
  Pickle p;
  make_archive("archive", &p);
  ZipWriter z;
  z.add("archive/data.pkl", p.b);
  EXPECT_THROW(parse_torch_checkpoint(z.finish(), "nostorage.pt"), Error);
  // An unsupported global (e.g. a pickled numpy array) and an unsupported opcode.
  Pickle q;
  q.op(0x80).op(2).global("numpy.core.multiarray", "_reconstruct").op(')').op('R').op('.');
  ZipWriter z2;
  z2.add("archive/data.pkl", q.b);
  try {
    parse_torch_checkpoint(z2.finish(), "np.pt");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported global numpy.core.multiarray._reconstruct"), std::string::npos)
        << e.what();
  }
  Pickle r;
  r.op(0x80).op(2).op('}').op('S').op('.');
  ZipWriter z3;
  z3.add("archive/data.pkl", r.b);
  EXPECT_THROW(parse_torch_checkpoint(z3.finish(), "op.pt"), Error);
  // Not a dict of tensors.
  Pickle s;
  s.op(0x80).op(2).op(']').op('.');
  ZipWriter z4;
  z4.add("archive/data.pkl", s.b);
  EXPECT_THROW(parse_torch_checkpoint(z4.finish(), "list.pt"), Error);
}

}  // namespace
}  // namespace vg
