// PyTorch checkpoint reader: a pickle VM subset (protocols 2-5, the opcodes torch.save emits for
// state dicts) and the two container layouts of torch/serialization.py (zip and legacy).
#include "io/torch_pickle.h"

#include <cstring>
#include <functional>
#include <memory>
#include <unordered_map>

#include "core/error.h"
#include "core/fs.h"
#include "io/safetensors.h"

namespace vg {

namespace {

// ---- Python values ----------------------------------------------------------------------------

enum class Kind { None, Bool, Int, BigInt, Float, Str, Bytes, List, Tuple, Dict, Global, Storage, Tensor };
const char* kind_name(Kind k) {
  static const char* names[] = {"None", "bool", "int", "bigint", "float", "str", "bytes",
                                "list", "tuple", "dict", "global", "storage", "tensor"};
  return names[static_cast<int>(k)];
}

enum class Elem { F32, F16, BF16, F64, I64, I32, I16, I8, U8 };
struct StorageType {
  const char* name;  // torch.<name>
  Elem elem;
  int size;
  DType out;
};
constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", Elem::F32, 4, DType::F32},  {"HalfStorage", Elem::F16, 2, DType::F32},
    {"BFloat16Storage", Elem::BF16, 2, DType::F32}, {"DoubleStorage", Elem::F64, 8, DType::F32},
    {"LongStorage", Elem::I64, 8, DType::I64},   {"IntStorage", Elem::I32, 4, DType::I32},
    {"ShortStorage", Elem::I16, 2, DType::I32},  {"CharStorage", Elem::I8, 1, DType::I32},
    {"ByteStorage", Elem::U8, 1, DType::U8},     {"BoolStorage", Elem::U8, 1, DType::U8},
    {"UntypedStorage", Elem::U8, 1, DType::U8}};

struct Py;
using Obj = std::shared_ptr<Py>;
struct Py {
  Kind kind = Kind::None;
  int64_t i = 0;                         // Int, Bool
  double f = 0;                          // Float
  std::string s;                         // Str, Bytes, BigInt (raw little-endian), Global "module.name"
  std::vector<Obj> items;                // List, Tuple
  std::vector<std::pair<Obj, Obj>> dict;  // Dict (insertion order)
  // Storage: a view [elem_offset, elem_offset + numel) of the root storage `key`.
  const StorageType* stype = nullptr;
  std::string key;
  int64_t elem_offset = 0, numel = 0;
  // Tensor
  Obj storage;
  int64_t offset = 0;
  Shape size, stride;
};

// Every object made while one file is parsed (ObjectArena below): a pickle may make an object hold itself (a list
// appended to itself through the memo), a shared_ptr cycle; the arena drops all links at the end instead of leaking.
thread_local std::vector<std::weak_ptr<Py>>* g_arena = nullptr;

struct ObjectArena {
  std::vector<std::weak_ptr<Py>> objects, *outer;
  ObjectArena() : outer(g_arena) { g_arena = &objects; }
  ~ObjectArena() {
    g_arena = outer;
    for (const auto& w : objects)
      if (Obj o = w.lock()) o->items.clear(), o->dict.clear(), o->storage.reset();
  }
};

Obj make(Kind k) {
  auto o = std::make_shared<Py>();
  o->kind = k;
  if (g_arena) g_arena->push_back(o);
  return o;
}
Obj make_int(int64_t v) {
  Obj o = make(Kind::Int);
  o->i = v;
  return o;
}
Obj make_str(Kind k, std::string_view s) {
  Obj o = make(k);
  o->s.assign(s);
  return o;
}

// ---- the pickle VM ----------------------------------------------------------------------------

using PersistentLoad = std::function<Obj(const Obj& pid)>;

class Unpickler {
 public:
  Unpickler(std::string_view bytes, size_t pos, const std::string& file, PersistentLoad pl)
      : b_(bytes), pos_(pos), file_(file), persistent_load_(std::move(pl)) {}
  Obj load();
  size_t pos() const { return pos_; }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    VG_FAIL("cannot read torch checkpoint ", file_, ": ", what, " (pickle offset ", pos_, ")");
  }
  std::string_view take(uint64_t n) {
    if (n > b_.size() - pos_) fail("truncated pickle");
    std::string_view v = b_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  template <typename T> T le() {
    T v;
    std::memcpy(&v, take(sizeof(T)).data(), sizeof(T));
    return v;
  }
  std::string_view line() {
    size_t e = b_.find('\n', pos_);
    if (e == std::string_view::npos) fail("unterminated GLOBAL");
    std::string_view v = b_.substr(pos_, e - pos_);
    pos_ = e + 1;
    return v;
  }
  Obj pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    Obj o = std::move(stack_.back());
    stack_.pop_back();
    return o;
  }
  Obj& top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<Obj> pop_mark() {
    if (marks_.empty()) fail("MARK missing");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Obj> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  Obj& expect_top(Kind k, const char* op) {
    Obj& t = top();
    if (t->kind != k) fail(std::string(op) + " on a " + kind_name(t->kind));
    return t;
  }
  Obj long_from(std::string_view raw);
  Obj call(const Obj& func, const Obj& args);
  void put(uint64_t idx) { memo_[idx] = top(); }
  void get(uint64_t idx) {
    auto it = memo_.find(idx);
    if (it == memo_.end()) fail("memo key " + std::to_string(idx) + " missing");
    stack_.push_back(it->second);
  }

  std::string_view b_;
  size_t pos_;
  const std::string& file_;
  PersistentLoad persistent_load_;
  std::vector<Obj> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Obj> memo_;
};

Obj Unpickler::long_from(std::string_view raw) {
  if (raw.size() > 8) return make_str(Kind::BigInt, raw);
  uint64_t v = 0;
  for (size_t k = 0; k < raw.size(); ++k) v |= static_cast<uint64_t>(static_cast<uint8_t>(raw[k])) << (8 * k);
  if (!raw.empty() && raw.size() < 8 && (static_cast<uint8_t>(raw.back()) & 0x80))  // sign-extend
    v |= ~uint64_t{0} << (8 * raw.size());
  return make_int(static_cast<int64_t>(v));
}

std::vector<int64_t> int_tuple(const Obj& o, const char* what, const std::string& file) {
  VG_CHECK(o->kind == Kind::Tuple || o->kind == Kind::List, "cannot read torch checkpoint ", file, ": tensor ",
           what, " is a ", kind_name(o->kind));
  std::vector<int64_t> v;
  for (const Obj& x : o->items) {
    VG_CHECK(x->kind == Kind::Int && x->i >= 0, "cannot read torch checkpoint ", file, ": bad tensor ", what);
    v.push_back(x->i);
  }
  return v;
}

// The callables a state dict needs (torch/_utils.py, collections).
Obj Unpickler::call(const Obj& func, const Obj& args) {
  if (func->kind != Kind::Global) fail(std::string("REDUCE on a ") + kind_name(func->kind));
  if (args->kind != Kind::Tuple) fail("REDUCE arguments are not a tuple");
  const std::string& g = func->s;
  const auto& a = args->items;
  if (g == "collections.OrderedDict" || g == "builtins.dict") {
    Obj d = make(Kind::Dict);
    if (!a.empty()) {
      if (a[0]->kind != Kind::List && a[0]->kind != Kind::Tuple) fail(g + " from a " + kind_name(a[0]->kind));
      for (const Obj& kv : a[0]->items) {
        if ((kv->kind != Kind::List && kv->kind != Kind::Tuple) || kv->items.size() != 2) fail(g + " item not a pair");
        d->dict.emplace_back(kv->items[0], kv->items[1]);
      }
    }
    return d;
  }
  if (g == "torch._utils._rebuild_tensor_v2" || g == "torch._utils._rebuild_tensor") {
    if (a.size() < 4 || a[0]->kind != Kind::Storage || a[1]->kind != Kind::Int) fail("bad arguments to " + g);
    Obj t = make(Kind::Tensor);
    t->storage = a[0];
    t->offset = a[1]->i;
    t->size = int_tuple(a[2], "size", file_);
    t->stride = int_tuple(a[3], "stride", file_);
    if (t->size.size() != t->stride.size() || t->offset < 0) fail("bad tensor geometry in " + g);
    return t;
  }
  if (g == "torch._utils._rebuild_parameter" || g == "torch._utils._rebuild_parameter_with_state") {
    if (a.empty() || a[0]->kind != Kind::Tensor) fail("bad arguments to " + g);
    return a[0];
  }
  fail("unsupported global " + g + " (only state dicts of tensors are read)");
}

Obj Unpickler::load() {
  for (;;) {
    const uint8_t op = le<uint8_t>();
    switch (op) {
      case 0x80: take(1); break;       // PROTO
      case 0x95: le<uint64_t>(); break;  // FRAME (framing is transparent here)
      case '.': {                      // STOP
        Obj r = pop();
        return r;
      }
      case '(': marks_.push_back(stack_.size()); break;  // MARK
      case '0': pop(); break;                            // POP
      case '1': pop_mark(); break;                       // POP_MARK
      case '2': stack_.push_back(top()); break;          // DUP
      case '}': stack_.push_back(make(Kind::Dict)); break;
      case ']': stack_.push_back(make(Kind::List)); break;
      case ')': stack_.push_back(make(Kind::Tuple)); break;
      case 'd': case 'l': case 't': {  // DICT, LIST, TUPLE from the items since MARK
        std::vector<Obj> items = pop_mark();
        Obj o = make(op == 'd' ? Kind::Dict : op == 'l' ? Kind::List : Kind::Tuple);
        if (op == 'd') {
          if (items.size() % 2) fail("DICT with an odd item count");
          for (size_t k = 0; k < items.size(); k += 2) o->dict.emplace_back(items[k], items[k + 1]);
        } else {
          o->items = std::move(items);
        }
        stack_.push_back(o);
        break;
      }
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        size_t n = op - 0x84u;
        Obj o = make(Kind::Tuple);
        o->items.resize(n);
        for (size_t k = n; k-- > 0;) o->items[k] = pop();
        stack_.push_back(o);
        break;
      }
      case 'J': stack_.push_back(make_int(le<int32_t>())); break;   // BININT
      case 'K': stack_.push_back(make_int(le<uint8_t>())); break;   // BININT1
      case 'M': stack_.push_back(make_int(le<uint16_t>())); break;  // BININT2
      case 0x8a: stack_.push_back(long_from(take(le<uint8_t>()))); break;   // LONG1
      case 0x8b: stack_.push_back(long_from(take(le<uint32_t>()))); break;  // LONG4
      case 'G': {                                                          // BINFLOAT, big-endian
        uint64_t u = 0;
        for (char c : take(8)) u = (u << 8) | static_cast<uint8_t>(c);
        Obj o = make(Kind::Float);
        std::memcpy(&o->f, &u, 8);
        stack_.push_back(o);
        break;
      }
      case 'N': stack_.push_back(make(Kind::None)); break;
      case 0x88: case 0x89: {  // NEWTRUE, NEWFALSE
        Obj o = make(Kind::Bool);
        o->i = op == 0x88;
        stack_.push_back(o);
        break;
      }
      case 'U': case 0x8c: stack_.push_back(make_str(Kind::Str, take(le<uint8_t>()))); break;  // SHORT_BIN{STRING,UNICODE}
      case 'T': case 'X': stack_.push_back(make_str(Kind::Str, take(le<uint32_t>()))); break;  // BINSTRING, BINUNICODE
      case 0x8d: stack_.push_back(make_str(Kind::Str, take(le<uint64_t>()))); break;           // BINUNICODE8
      case 'C': stack_.push_back(make_str(Kind::Bytes, take(le<uint8_t>()))); break;           // SHORT_BINBYTES
      case 'B': stack_.push_back(make_str(Kind::Bytes, take(le<uint32_t>()))); break;          // BINBYTES
      case 0x8e: stack_.push_back(make_str(Kind::Bytes, take(le<uint64_t>()))); break;         // BINBYTES8
      case 'c': {  // GLOBAL module\nname\n
        std::string m(line());
        std::string n(line());
        stack_.push_back(make_str(Kind::Global, m + "." + n));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Obj n = pop(), m = pop();
        if (m->kind != Kind::Str || n->kind != Kind::Str) fail("STACK_GLOBAL needs two strings");
        stack_.push_back(make_str(Kind::Global, m->s + "." + n->s));
        break;
      }
      case 'R': case 0x81: {  // REDUCE, NEWOBJ
        Obj args = pop(), func = pop();
        stack_.push_back(call(func, args));
        break;
      }
      case 'b': {  // BUILD: OrderedDict._metadata or tensor attributes; irrelevant to the values
        pop();
        Kind k = top()->kind;
        if (k != Kind::Dict && k != Kind::Tensor) fail(std::string("BUILD on a ") + kind_name(k));
        break;
      }
      case 's': {  // SETITEM
        Obj v = pop(), k = pop();
        expect_top(Kind::Dict, "SETITEM")->dict.emplace_back(k, v);
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<Obj> items = pop_mark();
        if (items.size() % 2) fail("SETITEMS with an odd item count");
        Obj& d = expect_top(Kind::Dict, "SETITEMS");
        for (size_t k = 0; k < items.size(); k += 2) d->dict.emplace_back(items[k], items[k + 1]);
        break;
      }
      case 'a': {  // APPEND
        Obj v = pop();
        expect_top(Kind::List, "APPEND")->items.push_back(v);
        break;
      }
      case 'e': {  // APPENDS
        std::vector<Obj> items = pop_mark();
        Obj& l = expect_top(Kind::List, "APPENDS");
        l->items.insert(l->items.end(), items.begin(), items.end());
        break;
      }
      case 'Q': {  // BINPERSID
        Obj pid = pop();
        stack_.push_back(persistent_load_(pid));
        break;
      }
      case 'q': put(le<uint8_t>()); break;       // BINPUT
      case 'r': put(le<uint32_t>()); break;      // LONG_BINPUT
      case 0x94: put(memo_.size()); break;       // MEMOIZE
      case 'h': get(le<uint8_t>()); break;       // BINGET
      case 'j': get(le<uint32_t>()); break;      // LONG_BINGET
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        --pos_;
        fail(std::string("unsupported pickle opcode ") + hex);
      }
    }
  }
}

// ---- storages and tensors ----------------------------------------------------------------------

const StorageType* storage_type(const Obj& g, const std::string& file) {
  VG_CHECK(g->kind == Kind::Global, "cannot read torch checkpoint ", file, ": storage type is a ", kind_name(g->kind));
  std::string n = g->s;
  for (const char* prefix : {"torch.cuda.", "torch."})
    if (n.rfind(prefix, 0) == 0) {
      n = n.substr(std::strlen(prefix));
      break;
    }
  for (const StorageType& t : kStorageTypes)
    if (n == t.name) return &t;
  VG_FAIL("cannot read torch checkpoint ", file, ": unsupported storage type ", g->s);
}

// ('storage', type, key, location, numel[, view_metadata]) -> a Storage value; records root types.
Obj load_storage_pid(const Obj& pid, const std::string& file, std::map<std::string, const StorageType*>* roots) {
  VG_CHECK(pid->kind == Kind::Tuple && pid->items.size() >= 5 && pid->items[0]->kind == Kind::Str,
           "cannot read torch checkpoint ", file, ": bad persistent id");
  const auto& a = pid->items;
  VG_CHECK(a[0]->s == "storage", "cannot read torch checkpoint ", file, ": unsupported persistent id '", a[0]->s, "'");
  VG_CHECK(a[2]->kind == Kind::Str && a[4]->kind == Kind::Int && a[4]->i >= 0, "cannot read torch checkpoint ",
           file, ": bad storage persistent id");
  Obj s = make(Kind::Storage);
  s->stype = storage_type(a[1], file);
  s->key = a[2]->s;
  s->numel = a[4]->i;
  (*roots)[s->key] = s->stype;
  if (a.size() >= 6 && a[5]->kind == Kind::Tuple) {  // legacy view: (view_key, offset, view_size)
    const auto& v = a[5]->items;
    VG_CHECK(v.size() == 3 && v[1]->kind == Kind::Int && v[2]->kind == Kind::Int, "cannot read torch checkpoint ",
             file, ": bad storage view");
    s->elem_offset = v[1]->i;
    s->numel = v[2]->i;
  }
  return s;
}

double read_elem(const char* p, Elem e) {
  switch (e) {
    case Elem::F32: { float v; std::memcpy(&v, p, 4); return v; }
    case Elem::F16: { uint16_t v; std::memcpy(&v, p, 2); return half_to_float(v); }
    case Elem::BF16: { uint16_t v; std::memcpy(&v, p, 2); return bf16_to_float(v); }
    case Elem::F64: { double v; std::memcpy(&v, p, 8); return v; }
    case Elem::I32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case Elem::I16: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case Elem::I8: return static_cast<int8_t>(*p);
    case Elem::U8: return static_cast<uint8_t>(*p);
    case Elem::I64: break;
  }
  return 0;
}

using StorageBytes = std::function<std::string_view(const std::string& key)>;

Tensor materialize(const Py& t, const StorageBytes& bytes_of, const std::string& file, const std::string& name) {
  const Py& s = *t.storage;
  const StorageType& st = *s.stype;
  std::string_view raw = bytes_of(s.key);
  const int64_t avail = static_cast<int64_t>(raw.size()) / st.size;
  const int64_t nd = static_cast<int64_t>(t.size.size());
  // Sizes and strides come from the file: the element count and the furthest element are computed with overflow
  // checks, and a view may repeat storage elements (stride 0) but not claim more than 64x the file's bytes.
  int64_t n = 1, max_index = 0, step = 0, storage_end = 0;
  bool overflow = s.elem_offset < 0 || __builtin_add_overflow(s.elem_offset, t.offset, &max_index) ||
                  __builtin_add_overflow(s.elem_offset, s.numel, &storage_end);
  for (int64_t d = 0; d < nd; ++d) {
    overflow |= __builtin_mul_overflow(n, t.size[d], &n);
    if (t.size[d] > 0) overflow |= __builtin_mul_overflow(t.size[d] - 1, t.stride[d], &step) ||
                                   __builtin_add_overflow(max_index, step, &max_index);
  }
  VG_CHECK(!overflow && n <= 64 * (static_cast<int64_t>(raw.size()) + 64), "cannot read torch checkpoint ", file,
           ": tensor '", name, "' of shape ", shape_str(t.size), " does not fit its ", raw.size(), "-byte storage");
  Tensor out = Tensor::empty(t.size, st.out);
  if (n == 0) return out;
  VG_CHECK(max_index < avail && max_index < storage_end, "cannot read torch checkpoint ", file,
           ": tensor '", name, "' reaches element ", max_index, " of a storage with ", avail, " (truncated?)");
  std::vector<int64_t> idx(static_cast<size_t>(nd), 0);
  int64_t src = s.elem_offset + t.offset;
  for (int64_t i = 0; i < n; ++i) {
    const char* p = raw.data() + src * st.size;
    switch (st.out) {
      case DType::F32: out.data<float>()[i] = static_cast<float>(read_elem(p, st.elem)); break;
      case DType::I64: std::memcpy(out.data<int64_t>() + i, p, 8); break;
      case DType::I32: out.data<int32_t>()[i] = static_cast<int32_t>(read_elem(p, st.elem)); break;
      case DType::U8: out.data<uint8_t>()[i] = static_cast<uint8_t>(*p); break;
    }
    for (int64_t d = nd - 1; d >= 0; --d) {  // row-major odometer over the strided view
      src += t.stride[d];
      if (++idx[d] < t.size[d]) break;
      src -= t.stride[d] * t.size[d];
      idx[d] = 0;
    }
  }
  return out;
}

void flatten(const Py& d, const std::string& prefix, const StorageBytes& bytes_of, const std::string& file,
             std::map<std::string, Tensor>* out, int depth) {
  VG_CHECK(depth < 32, "cannot read torch checkpoint ", file, ": dicts nested too deeply");
  for (const auto& [k, v] : d.dict) {
    std::string key;
    if (k->kind == Kind::Str) key = k->s;
    else if (k->kind == Kind::Int) key = std::to_string(k->i);
    else continue;
    key = prefix + key;
    if (v->kind == Kind::Tensor) (*out)[key] = materialize(*v, bytes_of, file, key);
    else if (v->kind == Kind::Dict) flatten(*v, key + ".", bytes_of, file, out, depth + 1);
  }
}

std::map<std::string, Tensor> to_state_dict(const Obj& root, const StorageBytes& bytes_of, const std::string& file) {
  VG_CHECK(root->kind == Kind::Dict, "cannot read torch checkpoint ", file, ": it holds a ", kind_name(root->kind),
           ", not a dict of tensors");
  std::map<std::string, Tensor> out;
  flatten(*root, "", bytes_of, file, &out, 0);
  VG_CHECK(!out.empty(), "cannot read torch checkpoint ", file, ": no tensors in it");
  return out;
}

// ---- the two layouts -------------------------------------------------------------------------

std::map<std::string, Tensor> parse_zip(std::string_view bytes, const std::string& file) {
  StoredZip zip(bytes, file);
  const StoredZip::Entry* pkl = nullptr;
  for (const auto& e : zip.entries()) {
    const std::string suffix = "data.pkl";
    if (e.name.size() >= suffix.size() && e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        (!pkl || e.name.size() < pkl->name.size()))
      pkl = &e;
  }
  VG_CHECK(pkl, "cannot read torch checkpoint ", file, ": zip without data.pkl (not a torch.save archive)");
  const std::string prefix = pkl->name.substr(0, pkl->name.size() - 8);  // "<archive>/"
  if (const auto* bo = zip.find(prefix + "byteorder"))
    VG_CHECK(zip.data(*bo) == "little", "cannot read torch checkpoint ", file, ": byteorder '", zip.data(*bo),
             "' (only little-endian is supported)");
  std::map<std::string, const StorageType*> roots;
  Unpickler up(zip.data(*pkl), 0, file, [&](const Obj& pid) { return load_storage_pid(pid, file, &roots); });
  Obj root = up.load();
  auto bytes_of = [&](const std::string& key) {
    const auto* e = zip.find(prefix + "data/" + key);
    VG_CHECK(e, "cannot read torch checkpoint ", file, ": storage ", prefix, "data/", key, " missing");
    return zip.data(*e);
  };
  return to_state_dict(root, bytes_of, file);
}

std::map<std::string, Tensor> parse_legacy(std::string_view bytes, const std::string& file) {
  static const uint8_t kMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};  // 0x1950a86a20f9469cfc6c
  std::map<std::string, const StorageType*> roots;
  auto no_pid = [&](const Obj&) -> Obj { VG_FAIL("cannot read torch checkpoint ", file, ": unexpected persistent id"); };
  size_t pos = 0;
  auto next = [&](PersistentLoad pl) {
    Unpickler up(bytes, pos, file, std::move(pl));
    Obj o = up.load();
    pos = up.pos();
    return o;
  };
  Obj magic = next(no_pid);
  VG_CHECK(magic->kind == Kind::BigInt && magic->s == std::string(reinterpret_cast<const char*>(kMagic), 10),
           "cannot read torch checkpoint ", file, ": not a torch.save file (bad magic number)");
  Obj proto = next(no_pid);
  VG_CHECK(proto->kind == Kind::Int && proto->i == 1001, "cannot read torch checkpoint ", file,
           ": unsupported legacy protocol version");
  Obj sys_info = next(no_pid);
  if (sys_info->kind == Kind::Dict)
    for (const auto& [k, v] : sys_info->dict)
      if (k->kind == Kind::Str && k->s == "little_endian")
        VG_CHECK(v->kind == Kind::Bool && v->i == 1, "cannot read torch checkpoint ", file, ": big-endian file");
  Obj root = next([&](const Obj& pid) { return load_storage_pid(pid, file, &roots); });
  Obj keys = next(no_pid);
  VG_CHECK(keys->kind == Kind::List, "cannot read torch checkpoint ", file, ": storage key list missing");
  // Each storage: int64 element count, then the raw little-endian elements.
  std::map<std::string, std::string_view> data;
  for (const Obj& k : keys->items) {
    VG_CHECK(k->kind == Kind::Str && roots.count(k->s), "cannot read torch checkpoint ", file,
             ": unknown storage key in the key list");
    int64_t numel = 0;
    VG_CHECK(bytes.size() - pos >= 8, "cannot read torch checkpoint ", file, ": truncated at storage ", k->s);
    std::memcpy(&numel, bytes.data() + pos, 8);
    pos += 8;
    const uint64_t nbytes = static_cast<uint64_t>(numel) * roots[k->s]->size;
    VG_CHECK(numel >= 0 && nbytes <= bytes.size() - pos, "cannot read torch checkpoint ", file,
             ": truncated at storage ", k->s, " (", numel, " elements)");
    data[k->s] = bytes.substr(pos, nbytes);
    pos += nbytes;
  }
  auto bytes_of = [&](const std::string& key) {
    auto it = data.find(key);
    VG_CHECK(it != data.end(), "cannot read torch checkpoint ", file, ": storage ", key, " not in the file");
    return it->second;
  };
  return to_state_dict(root, bytes_of, file);
}

}  // namespace

std::map<std::string, Tensor> parse_torch_checkpoint(std::string_view bytes, const std::string& name) {
  ObjectArena arena;
  if (looks_like_zip(bytes)) return parse_zip(bytes, name);
  VG_CHECK(bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x80, "cannot read torch checkpoint ", name,
           ": neither a zip archive nor a pickle");
  return parse_legacy(bytes, name);
}

std::map<std::string, Tensor> load_torch_state_dict(const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  return parse_torch_checkpoint(bytes, path.string());
}

}  // namespace vg
