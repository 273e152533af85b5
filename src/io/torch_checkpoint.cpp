// PyTorch checkpoints (torch.save of a state_dict) read without Python.
//
// Two containers hold the same pickle:
//  - zip (PyTorch >= 1.6): <top>/data.pkl, one entry <top>/data/<key> per storage,
//    <top>/version, and since 2.1 <top>/byteorder. <top> is the file's stem, or
//    "archive" when it was saved to a stream.
//  - legacy (_use_new_zipfile_serialization=False): five pickles in a row — a magic
//    number, protocol 1001, system info, the state_dict, the sorted storage keys —
//    then each storage as a little-endian i64 element count and its bytes.
// In both, a tensor is a REDUCE of torch._utils._rebuild_tensor_v2(storage, offset,
// size, stride, requires_grad, hooks) on a persistent id ("storage", <torch.*Storage>,
// key, location, numel[, view]). The unpickler (pickle.hpp) runs nothing: the calls
// are interpreted here, and only these are accepted (see kGlobals).

#include <zip.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <type_traits>
#include <unordered_map>

#include "io/formats.hpp"
#include "io/pickle.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "util/files.hpp"
#include "xgrad/io.hpp"

static_assert(std::endian::native == std::endian::little, "storages are read as little-endian");

namespace xgrad {

using detail::fail;
namespace pk = detail::pickle;

namespace {

using Kind = pk::Value::Kind;

// ---- what a state_dict may hold ----------------------------------------------------------

enum class Element { f32, f64, f16, bf16, i64, i32, i16, i8, u8, boolean };

struct StorageType {
  const char* name;
  Element element;
  std::uint64_t bytes;
};

constexpr std::array<StorageType, 10> kStorageTypes{{
    {"torch.FloatStorage", Element::f32, 4},
    {"torch.DoubleStorage", Element::f64, 8},
    {"torch.HalfStorage", Element::f16, 2},
    {"torch.BFloat16Storage", Element::bf16, 2},
    {"torch.LongStorage", Element::i64, 8},
    {"torch.IntStorage", Element::i32, 4},
    {"torch.ShortStorage", Element::i16, 2},
    {"torch.CharStorage", Element::i8, 1},
    {"torch.ByteStorage", Element::u8, 1},
    {"torch.BoolStorage", Element::boolean, 1},
}};

constexpr const char* kOrderedDict = "collections.OrderedDict";
constexpr const char* kRebuildTensorV2 = "torch._utils._rebuild_tensor_v2";
constexpr const char* kRebuildTensor = "torch._utils._rebuild_tensor";  // PyTorch < 0.4
constexpr const char* kRebuildParameter = "torch._utils._rebuild_parameter";
constexpr const char* kRebuildParameterWithState = "torch._utils._rebuild_parameter_with_state";

const pk::Rules& torch_rules() {
  static const pk::Rules rules = [] {
    pk::Rules r;
    r.callable = {kOrderedDict, kRebuildTensorV2, kRebuildTensor, kRebuildParameter, kRebuildParameterWithState};
    r.globals = r.callable;
    for (const StorageType& type : kStorageTypes) r.globals.insert(type.name);
    r.refusal_hint =
        ". A state_dict holds only tensors in (ordered) dicts; if this file holds a whole model or other Python "
        "objects, save its weights in Python with torch.save(model.state_dict(), path)";
    return r;
  }();
  return rules;
}

constexpr std::size_t kMaxPickleBytes = 64 << 20;  // a 20,000-tensor state_dict pickles to ~2 MB
constexpr std::uint64_t kDeflateRatio = 1032;      // the most bytes deflate can make of one
constexpr std::size_t kMaxRank = 64;
constexpr int kMaxDepth = 16;  // dicts in dicts (checkpoints nest a state_dict or two)
// A file yields at most this many elements per element its storages hold (views of one
// storage and stride-0 tensors repeat elements), plus a small allowance.
constexpr std::uint64_t kMaxRepeat = 4;
constexpr std::uint64_t kRepeatAllowance = 1 << 20;

// ---- one tensor's description --------------------------------------------------------------

struct StorageRef {
  const StorageType* type = nullptr;
  std::string key;
  std::uint64_t numel = 0;        ///< the whole storage, in elements of `type`
  std::uint64_t view_offset = 0;  ///< legacy storage views: where this view starts
  std::uint64_t view_numel = 0;   ///< ... and how many elements it has
};

struct TensorSpec {
  std::string name;
  StorageRef storage;
  std::int64_t offset = 0;
  Shape size, stride;
};

// Reads the unpickled value tree into TensorSpecs, checking every shape.
class Interpreter {
 public:
  Interpreter(const pk::Unpickled& p, std::string context) : p_(p), context_(std::move(context)) {}

  std::vector<TensorSpec> state_dict() {
    if (p_[p_.root].kind != Kind::dict)
      fail<IOError>("{}: the pickle holds a {}, not a state_dict (a dict of tensors){}", context_,
                    pk::kind_name(p_[p_.root].kind), torch_rules().refusal_hint);
    walk(p_.root, "", 0);
    return std::move(specs_);
  }

  StorageRef storage(pk::Id pid) const {
    const pk::Value& id = p_[pid];
    const auto& it = id.items;
    if (id.kind != Kind::tuple || (it.size() != 5 && it.size() != 6) || !is_string(it[0], "storage"))
      fail<IOError>("{}: a persistent id is not ('storage', type, key, location, numel)", context_);
    StorageRef ref;
    ref.type = storage_type(it[1]);
    ref.key = text(it[2], "storage key");
    text(it[3], "storage location");  // "cpu", "cuda:0", ...: everything loads on the CPU
    ref.numel = count(it[4], "the storage size");
    ref.view_numel = ref.numel;
    if (it.size() == 6 && p_[it[5]].kind != Kind::none) {  // legacy view: (view key, offset, size)
      const pk::Value& view = p_[it[5]];
      if (view.kind != Kind::tuple || view.items.size() != 3)
        fail<IOError>("{}: storage {}'s view is not (key, offset, size)", context_, ref.key);
      ref.view_offset = count(view.items[1], "the view offset");
      ref.view_numel = count(view.items[2], "the view size");
      if (ref.view_offset > ref.numel || ref.view_numel > ref.numel - ref.view_offset)
        fail<IOError>("{}: storage {}'s view [{}, +{}) lies outside its {} elements", context_, ref.key,
                      ref.view_offset, ref.view_numel, ref.numel);
    }
    return ref;
  }

 private:
  void walk(pk::Id dict, const std::string& prefix, int depth) {
    if (depth > kMaxDepth) fail<IOError>("{}: dicts nest deeper than {}", context_, kMaxDepth);
    const auto& items = p_[dict].items;
    for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
      const std::string name = prefix + key_text(items[i]);
      const pk::Value& value = p_[items[i + 1]];
      if (value.kind == Kind::call) {
        add(name, tensor(items[i + 1], name, 0));
      } else if (value.kind == Kind::dict) {
        walk(items[i + 1], name + ".", depth + 1);
      }
      // Anything else (numbers, strings, lists: a checkpoint's epoch or history) is not a tensor.
    }
  }

  void add(const std::string& name, TensorSpec spec) {
    spec.name = name;
    const auto [it, fresh] = index_.emplace(name, specs_.size());
    if (fresh) {
      specs_.push_back(std::move(spec));
    } else {
      specs_[it->second] = std::move(spec);  // a repeated key: the last one wins, as in Python
    }
  }

  TensorSpec tensor(pk::Id call, const std::string& name, int depth) const {
    const pk::Value& c = p_[call];
    const std::string& function = p_[c.items[0]].text;
    const auto& args = p_[c.items[1]].items;
    const auto expect = [&](bool ok) {
      if (!ok) fail<IOError>("{}: \"{}\": {} called with {} arguments of the wrong kind", context_, name, function,
                             args.size());
    };
    if (function == kRebuildParameter || function == kRebuildParameterWithState) {
      expect(depth == 0 && args.size() >= 3 && p_[args[0]].kind == Kind::call);
      return tensor(args[0], name, depth + 1);
    }
    expect(function == kRebuildTensorV2 || function == kRebuildTensor);
    expect(args.size() >= 4 && p_[args[0]].kind == Kind::persistent);
    if (function == kRebuildTensorV2) expect(args.size() == 6 || args.size() == 7);
    TensorSpec spec;
    spec.storage = storage(p_[args[0]].items[0]);
    spec.offset = static_cast<std::int64_t>(count(args[1], "the storage offset"));
    spec.size = dims(args[2], name, "size");
    spec.stride = dims(args[3], name, "stride");
    if (spec.size.size() != spec.stride.size())
      fail<IOError>("{}: \"{}\": size {} and stride {} differ in length", context_, name, detail::str(spec.size),
                    detail::str(spec.stride));
    if (function == kRebuildTensorV2 && (p_[args[5]].kind != Kind::dict || !p_[args[5]].items.empty()))
      fail<IOError>("{}: \"{}\" carries backward hooks, which a state_dict never holds", context_, name);
    return spec;
  }

  Shape dims(pk::Id id, const std::string& name, const char* what) const {
    const pk::Value& v = p_[id];
    if ((v.kind != Kind::tuple && v.kind != Kind::list) || v.items.size() > kMaxRank)
      fail<IOError>("{}: \"{}\": its {} is not a tuple of at most {} integers", context_, name, what, kMaxRank);
    Shape out;
    const std::string element = fmt::format("\"{}\": an element of its {}", name, what);
    for (pk::Id d : v.items) out.push_back(static_cast<std::int64_t>(count(d, element.c_str())));
    return out;
  }

  const StorageType* storage_type(pk::Id id) const {
    const pk::Value& v = p_[id];
    if (v.kind == Kind::global)
      for (const StorageType& type : kStorageTypes)
        if (v.text == type.name) return &type;
    fail<IOError>("{}: a storage's type is not one of torch.FloatStorage, DoubleStorage, HalfStorage, "
                  "BFloat16Storage, LongStorage, IntStorage, ShortStorage, CharStorage, ByteStorage, BoolStorage",
                  context_);
  }

  std::string key_text(pk::Id id) const {
    const pk::Value& v = p_[id];
    if (v.kind == Kind::string) return v.text;
    if (v.kind == Kind::integer) return std::to_string(v.integer);  // optimizer state: {0: {...}}
    fail<IOError>("{}: a dict key is a {}, not a string", context_, pk::kind_name(v.kind));
  }

  bool is_string(pk::Id id, const char* expected) const {
    return p_[id].kind == Kind::string && p_[id].text == expected;
  }
  const std::string& text(pk::Id id, const char* what) const {
    if (p_[id].kind != Kind::string) fail<IOError>("{}: a {} is a {}, not a string", context_, what, pk::kind_name(p_[id].kind));
    return p_[id].text;
  }
  // A non-negative integer below 2^62 (sizes, strides, offsets, counts).
  std::uint64_t count(pk::Id id, const char* what) const {
    const pk::Value& v = p_[id];
    if (v.kind != Kind::integer || v.integer < 0 || v.integer >= (std::int64_t{1} << 62))
      fail<IOError>("{}: {} is {}, not an integer in [0, 2^62)", context_, what,
                    v.kind == Kind::integer ? std::to_string(v.integer) : std::string(pk::kind_name(v.kind)));
    return static_cast<std::uint64_t>(v.integer);
  }

  const pk::Unpickled& p_;
  std::string context_;
  std::vector<TensorSpec> specs_;
  std::unordered_map<std::string, std::size_t> index_;
};

// ---- from storage bytes to a tensor ----------------------------------------------------------

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = (h & 0x8000u) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));  // inf, nan
  if (exponent == 0) {
    if (mantissa == 0) return std::bit_cast<float>(sign);
    while (!(mantissa & 0x400u)) {  // subnormal: normalise
      mantissa <<= 1;
      --exponent;
    }
    ++exponent;
    mantissa &= 0x3ffu;
  }
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

template <class In>
In load_element(const std::byte* p) {
  In v;
  std::memcpy(&v, p, sizeof(In));
  return v;
}

// Copies the strided elements at `base` into the contiguous `out`, converting each.
template <class In, class Out, class Convert>
void gather(const std::byte* base, const Shape& size, const Shape& stride, Out* out, Convert convert) {
  const std::size_t rank = size.size();
  const std::int64_t inner = rank ? size.back() : 1, inner_stride = rank ? stride.back() : 0;
  const std::int64_t rows = inner ? detail::shape_numel(size) / inner : 0;
  Shape index(rank, 0);
  for (std::int64_t row = 0; row < rows; ++row) {
    std::int64_t at = 0;
    for (std::size_t d = 0; d + 1 < rank; ++d) at += index[d] * stride[d];
    for (std::int64_t i = 0; i < inner; ++i)
      *out++ = convert(load_element<In>(base + (at + i * inner_stride) * static_cast<std::int64_t>(sizeof(In))));
    for (std::size_t d = rank ? rank - 1 : 0; d-- > 0;) {  // odometer over the outer dims
      if (++index[d] < size[d]) break;
      index[d] = 0;
    }
  }
}

// What load_torch returns a storage type as: f32, f64 and i64 as stored, the halves as f32, other integers as i64.
DType loaded_dtype(Element e) {
  if (e == Element::f64) return f64;
  if (e == Element::f32 || e == Element::f16 || e == Element::bf16) return f32;
  return i64;
}

Tensor materialise(const TensorSpec& spec, const std::byte* base) {
  const auto cast = [](auto v) { return v; };
  const auto widen = [](auto v) { return static_cast<std::int64_t>(v); };
  const Element e = spec.storage.type->element;
  Tensor t = detail::make_tensor(spec.size, loaded_dtype(e));
  const Shape& n = spec.size;
  const Shape& s = spec.stride;
  const bool same_type = e == Element::f32 || e == Element::f64 || e == Element::i64;
  if (same_type && (t.numel() <= 1 || s == detail::contiguous_strides(n))) {  // the usual case: one copy
    std::memcpy(t.impl()->element_ptr(), base, static_cast<std::size_t>(t.numel()) * spec.storage.type->bytes);
    return t;
  }
  switch (e) {
    case Element::f32: gather<float>(base, n, s, detail::element_ptr<float>(t), cast); break;
    case Element::f64: gather<double>(base, n, s, detail::element_ptr<double>(t), cast); break;
    case Element::f16: gather<std::uint16_t>(base, n, s, detail::element_ptr<float>(t), half_to_float); break;
    case Element::bf16:
      gather<std::uint16_t>(base, n, s, detail::element_ptr<float>(t),
                            [](std::uint16_t b) { return std::bit_cast<float>(std::uint32_t{b} << 16); });
      break;
    case Element::i64: gather<std::int64_t>(base, n, s, detail::element_ptr<std::int64_t>(t), cast); break;
    case Element::i32: gather<std::int32_t>(base, n, s, detail::element_ptr<std::int64_t>(t), widen); break;
    case Element::i16: gather<std::int16_t>(base, n, s, detail::element_ptr<std::int64_t>(t), widen); break;
    case Element::i8: gather<std::int8_t>(base, n, s, detail::element_ptr<std::int64_t>(t), widen); break;
    case Element::u8: gather<std::uint8_t>(base, n, s, detail::element_ptr<std::int64_t>(t), widen); break;
    case Element::boolean:
      gather<std::uint8_t>(base, n, s, detail::element_ptr<std::int64_t>(t),
                           [](std::uint8_t b) { return std::int64_t{b != 0}; });
      break;
  }
  return t;
}

// Checks that the tensor's elements lie inside its storage (view); returns its numel.
std::uint64_t check_geometry(const TensorSpec& spec, const std::string& context) {
  std::uint64_t numel = 1, last = static_cast<std::uint64_t>(spec.offset);
  bool overflow = false;
  for (std::size_t d = 0; d < spec.size.size(); ++d) {
    const auto n = static_cast<std::uint64_t>(spec.size[d]), step = static_cast<std::uint64_t>(spec.stride[d]);
    std::uint64_t reach = 0;
    overflow |= __builtin_mul_overflow(numel, n, &numel);
    if (n > 0) overflow |= __builtin_mul_overflow(n - 1, step, &reach) || __builtin_add_overflow(last, reach, &last);
  }
  if (overflow || numel > (std::uint64_t{1} << 62))
    fail<IOError>("{}: \"{}\": size {} with stride {} overflows 64 bits", context, spec.name, detail::str(spec.size),
                  detail::str(spec.stride));
  if (numel > 0 && last >= spec.storage.view_numel)
    fail<IOError>("{}: \"{}\": size {}, stride {} and offset {} reach element {} of a storage of {}", context,
                  spec.name, detail::str(spec.size), detail::str(spec.stride), spec.offset, last,
                  spec.storage.view_numel);
  return numel;
}

// A tensor that is its whole storage, contiguous, of a dtype kept as stored (the
// usual state_dict entry): its bytes can be read straight into it.
bool is_whole_storage(const TensorSpec& spec, std::uint64_t numel) {
  const Element e = spec.storage.type->element;
  return (e == Element::f32 || e == Element::f64 || e == Element::i64) && spec.offset == 0 &&
         spec.storage.view_offset == 0 && numel == spec.storage.numel && spec.storage.view_numel == spec.storage.numel &&
         (numel <= 1 || spec.stride == detail::contiguous_strides(spec.size));
}

// Builds every tensor; `bytes_of(ref)` gives the storage's bytes (ref.numel elements),
// `read_into(ref, destination)` (when not null) writes them into a tensor that is the
// storage's only user and all of it, saving a copy.
template <class BytesOf, class ReadInto = std::nullptr_t>
nn::StateDict build(const std::vector<TensorSpec>& specs, const std::string& context, BytesOf bytes_of,
                    ReadInto read_into = nullptr) {
  std::uint64_t yielded = 0, held = 0;
  std::unordered_map<std::string, int> users;
  std::vector<std::uint64_t> numels;
  for (const TensorSpec& spec : specs) {
    numels.push_back(check_geometry(spec, context));
    yielded += numels.back();
    if (users[spec.storage.key]++ == 0) held += spec.storage.numel;
  }
  if (yielded > kMaxRepeat * held + kRepeatAllowance)
    fail<IOError>("{}: its tensors have {} elements in all but its storages only {}; at most {}x are read", context,
                  yielded, held, kMaxRepeat);
  nn::StateDict out;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& spec = specs[i];
    if constexpr (!std::is_same_v<ReadInto, std::nullptr_t>) {
      if (users[spec.storage.key] == 1 && is_whole_storage(spec, numels[i])) {
        Tensor t = detail::make_tensor(spec.size, loaded_dtype(spec.storage.type->element));
        read_into(spec.storage, t.impl()->element_ptr());
        out.emplace_back(spec.name, t);
        continue;
      }
    }
    const std::byte* storage = bytes_of(spec.storage);
    const std::uint64_t first = spec.storage.view_offset + static_cast<std::uint64_t>(spec.offset);
    out.emplace_back(spec.name, materialise(spec, storage + first * spec.storage.type->bytes));
  }
  return out;
}

pk::Unpickled unpickle(std::span<const std::byte> data, const std::string& context) {
  return pk::unpickle(data, torch_rules(), context);
}

// ---- zip ----------------------------------------------------------------------------------------

// An entry's bytes (not zero-filled first: a storage is copied once, into it).
struct Bytes {
  std::unique_ptr<std::byte[]> data;
  std::uint64_t size = 0;
  std::span<const std::byte> span() const { return {data.get(), static_cast<std::size_t>(size)}; }
};

class ZipArchive {
 public:
  ZipArchive(const std::string& path, std::uint64_t file_bytes)
      : path_(path), budget_(kDeflateRatio * std::max<std::uint64_t>(file_bytes, 1)) {
    int code = 0;
    zip_ = zip_open(path.c_str(), ZIP_RDONLY, &code);
    if (!zip_) {
      zip_error_t error;
      zip_error_init_with_code(&error, code);
      const std::string why = zip_error_strerror(&error);
      zip_error_fini(&error);
      fail<IOError>("load_torch: '{}': not a readable zip archive: {}", path, why);
    }
    const zip_int64_t count = zip_get_num_entries(zip_, 0);
    for (zip_int64_t i = 0; i < count; ++i)
      if (const char* name = zip_get_name(zip_, static_cast<zip_uint64_t>(i), 0)) names_.emplace_back(name);
  }
  ~ZipArchive() { zip_discard(zip_); }
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  const std::vector<std::string>& names() const { return names_; }
  bool has(const std::string& name) const { return zip_name_locate(zip_, name.c_str(), 0) >= 0; }

  // The entry's bytes; `expected` (when given) is the size it must have. Sizes are
  // checked before anything is allocated: every entry read so far, this one
  // included, must fit in what deflate could make of the whole file.
  Bytes read(const std::string& name, std::optional<std::uint64_t> expected, std::uint64_t limit) {
    Bytes bytes;
    read_entry(name, expected, limit, [&](std::uint64_t size) {
      bytes = {std::unique_ptr<std::byte[]>(new std::byte[size]), size};
      return bytes.data.get();
    });
    return bytes;
  }
  /// The entry (exactly `size` bytes) straight into `destination`.
  void read_into(const std::string& name, std::uint64_t size, std::byte* destination) {
    read_entry(name, size, size, [destination](std::uint64_t) { return destination; });
  }

 private:
  template <class Destination>
  void read_entry(const std::string& name, std::optional<std::uint64_t> expected, std::uint64_t limit,
                  Destination destination) {
    const zip_int64_t index = zip_name_locate(zip_, name.c_str(), 0);
    if (index < 0) fail<IOError>("load_torch: '{}': the archive has no entry {}", path_, name);
    zip_stat_t stat;
    if (zip_stat_index(zip_, static_cast<zip_uint64_t>(index), 0, &stat) != 0 || !(stat.valid & ZIP_STAT_SIZE))
      fail<IOError>("load_torch: '{}': cannot read the size of {}: {}", path_, name, zip_strerror(zip_));
    if (expected && stat.size != *expected)
      fail<IOError>("load_torch: '{}': {} has {} bytes, but its storage needs {}", path_, name, stat.size, *expected);
    if (stat.size > limit) fail<IOError>("load_torch: '{}': {} has {} bytes, over the limit of {}", path_, name, stat.size, limit);
    if (stat.size > budget_ - used_)
      fail<IOError>("load_torch: '{}': {} would bring the bytes read to {}, more than {}x the file's size (a zip bomb?)",
                    path_, name, used_ + stat.size, kDeflateRatio);
    used_ += stat.size;

    std::unique_ptr<zip_file_t, decltype(&zip_fclose)> file(zip_fopen_index(zip_, static_cast<zip_uint64_t>(index), 0),
                                                           &zip_fclose);
    if (!file) fail<IOError>("load_torch: '{}': cannot open {}: {}", path_, name, zip_strerror(zip_));
    std::byte* bytes = destination(stat.size);
    std::uint64_t got = 0;
    while (got < stat.size) {
      const zip_int64_t n = zip_fread(file.get(), bytes + got, stat.size - got);
      if (n < 0) fail<IOError>("load_torch: '{}': reading {}: {}", path_, name, zip_file_strerror(file.get()));
      if (n == 0) fail<IOError>("load_torch: '{}': {} ends after {} of its {} bytes", path_, name, got, stat.size);
      got += static_cast<std::uint64_t>(n);
    }
    std::byte extra;  // reading to the end makes libzip check the CRC
    const zip_int64_t n = zip_fread(file.get(), &extra, 1);
    if (n != 0)
      fail<IOError>("load_torch: '{}': {}: {}", path_, name, n < 0 ? zip_file_strerror(file.get()) : "more bytes than its size says");
  }

  std::string path_;
  zip_t* zip_ = nullptr;
  std::vector<std::string> names_;
  std::uint64_t budget_, used_ = 0;
};

nn::StateDict load_zip(const std::string& path, std::uint64_t file_bytes) {
  ZipArchive archive(path, file_bytes);
  if (archive.names().empty() || archive.names().front().find('/') == std::string::npos)
    fail<IOError>("load_torch: '{}': a zip archive, but not one torch.save writes (no <folder>/data.pkl)", path);
  const std::string top = archive.names().front().substr(0, archive.names().front().find('/'));
  for (const std::string& name : archive.names())
    if (name == top + "/constants.pkl" || name.rfind(top + "/code/", 0) == 0)
      fail<IOError>("load_torch: '{}': a TorchScript archive (torch.jit.save), which holds code, not a state_dict; "
                    "save the weights in Python with torch.save(model.state_dict(), path)", path);
  if (!archive.has(top + "/data.pkl"))
    fail<IOError>("load_torch: '{}': a zip archive without {}/data.pkl, so not one torch.save writes", path, top);
  if (archive.has(top + "/byteorder")) {
    const Bytes order = archive.read(top + "/byteorder", std::nullopt, 16);
    const std::string text(reinterpret_cast<const char*>(order.data.get()), order.size);
    if (text != "little") fail<IOError>("load_torch: '{}': storages are stored {}-endian; only little is read", path, text.substr(0, 16));
  }

  const Bytes pickle = archive.read(top + "/data.pkl", std::nullopt, kMaxPickleBytes);
  const std::string context = fmt::format("load_torch: '{}': {}/data.pkl", path, top);
  const pk::Unpickled unpickled = unpickle(pickle.span(), context);
  const std::vector<TensorSpec> specs = Interpreter(unpickled, context).state_dict();

  std::map<std::string, Bytes> storages;  // by key: read once, shared by its views
  return build(specs, context, [&](const StorageRef& ref) {
    auto it = storages.find(ref.key);
    if (it == storages.end()) {
      const std::uint64_t bytes = ref.numel * ref.type->bytes;  // numel < 2^62, bytes <= 8
      it = storages.emplace(ref.key, archive.read(top + "/data/" + ref.key, bytes, bytes)).first;
    } else if (it->second.size != ref.numel * ref.type->bytes) {
      fail<IOError>("{}: storage {} is used as {} and as {} bytes", context, ref.key, it->second.size,
                    ref.numel * ref.type->bytes);
    }
    return it->second.data.get();
  }, [&](const StorageRef& ref, std::byte* destination) {
    archive.read_into(top + "/data/" + ref.key, ref.numel * ref.type->bytes, destination);
  });
}

// ---- legacy -------------------------------------------------------------------------------------

constexpr std::array<unsigned char, 10> kLegacyMagic{0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr std::int64_t kLegacyProtocol = 1001;

nn::StateDict load_legacy(const std::string& path) {
  const std::vector<std::uint8_t> file = detail::read_file(path, "load_torch");
  std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(file.data()), file.size());
  const auto next = [&](const char* part) {
    pk::Unpickled p = unpickle(rest, fmt::format("load_torch: '{}': {}", path, part));
    rest = rest.subspan(p.end);
    return p;
  };
  const pk::Unpickled magic = next("the magic number");
  const pk::Value& m = magic[magic.root];
  if (m.kind != Kind::big_integer || m.text != std::string(kLegacyMagic.begin(), kLegacyMagic.end()))
    fail<IOError>("load_torch: '{}': a pickle, but not a PyTorch checkpoint (no magic number); a PyTorch "
                  "checkpoint is written by torch.save(model.state_dict(), path)", path);
  const pk::Unpickled protocol = next("the protocol version");
  if (protocol[protocol.root].kind != Kind::integer || protocol[protocol.root].integer != kLegacyProtocol)
    fail<IOError>("load_torch: '{}': legacy protocol is not {}", path, kLegacyProtocol);
  const pk::Unpickled info = next("the system info");
  const auto& entries = info[info.root].items;
  bool little = false;
  for (std::size_t i = 0; info[info.root].kind == Kind::dict && i + 1 < entries.size(); i += 2)
    if (info[entries[i]].text == "little_endian") little = info[entries[i + 1]].kind == Kind::boolean && info[entries[i + 1]].integer;
  if (!little) fail<IOError>("load_torch: '{}': written on a big-endian machine; only little-endian files are read", path);

  const std::string context = fmt::format("load_torch: '{}': the state_dict pickle", path);
  const pk::Unpickled main = next("the state_dict pickle");
  Interpreter interpreter(main, context);
  const std::vector<TensorSpec> specs = interpreter.state_dict();
  const pk::Unpickled keys = next("the storage keys");
  if (keys[keys.root].kind != Kind::list) fail<IOError>("load_torch: '{}': the storage keys are not a list", path);

  // Each storage's element type is the one of its first use (what torch.save wrote it with).
  std::unordered_map<std::string, StorageRef> roots;
  for (const TensorSpec& spec : specs) roots.emplace(spec.storage.key, spec.storage);
  std::unordered_map<std::string, const std::byte*> data;
  for (pk::Id id : keys[keys.root].items) {
    const std::string& key = keys[id].text;
    const auto root = roots.find(key);
    if (keys[id].kind != Kind::string || root == roots.end())
      fail<IOError>("load_torch: '{}': storage key \"{}\" belongs to no tensor", path, key.substr(0, 40));
    if (rest.size() < 8) fail<IOError>("load_torch: '{}': the file ends before storage {}", path, key);
    std::uint64_t count = 0;
    std::memcpy(&count, rest.data(), 8);
    rest = rest.subspan(8);
    if (count != root->second.numel || count > rest.size() / root->second.type->bytes)
      fail<IOError>("load_torch: '{}': storage {} has {} elements where {} are expected and {} bytes are left", path,
                    key, count, root->second.numel, rest.size());
    data[key] = rest.data();
    rest = rest.subspan(count * root->second.type->bytes);
  }
  return build(specs, context, [&](const StorageRef& ref) {
    const auto it = data.find(ref.key);
    if (it == data.end()) fail<IOError>("{}: storage {} is not in the file", context, ref.key);
    if (ref.numel * ref.type->bytes > roots.at(ref.key).numel * roots.at(ref.key).type->bytes)
      fail<IOError>("{}: storage {} is used with more bytes than it holds", context, ref.key);
    return it->second;
  });
}

}  // namespace

namespace detail {

TorchFormat torch_format(const std::string& path, std::string* first_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IOError>("load: '{}': cannot open it: {}", path, std::strerror(errno));
  char head[8] = {};
  in.read(head, sizeof head);
  const std::size_t got = static_cast<std::size_t>(in.gcount());
  if (first_bytes) *first_bytes = std::string(head, got);
  if (got >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return TorchFormat::zip;
  if (got >= 4 && std::memcmp(head, "PK\x05\x06", 4) == 0) return TorchFormat::zip;  // an empty archive
  if (got >= 2 && static_cast<unsigned char>(head[0]) == 0x80) return TorchFormat::legacy;  // PROTO
  return TorchFormat::none;
}

}  // namespace detail

nn::StateDict load_torch(const std::string& path) {
  std::error_code error;
  const std::uint64_t file_bytes = std::filesystem::file_size(path, error);
  if (error) fail<IOError>("load_torch: '{}': cannot read it: {}", path, error.message());
  std::string head;
  switch (detail::torch_format(path, &head)) {
    case detail::TorchFormat::zip: return load_zip(path, file_bytes);
    case detail::TorchFormat::legacy: return load_legacy(path);
    case detail::TorchFormat::none: break;
  }
  std::string hex;
  for (unsigned char c : head) hex += fmt::format("{:02x} ", c);
  fail<IOError>("load_torch: '{}': not a PyTorch checkpoint (zip or pickle): it starts with {}", path,
                hex.empty() ? std::string("nothing") : hex);
}

}  // namespace xgrad
