// safetensors files (https://github.com/huggingface/safetensors, "Format"):
//   [8 bytes: u64 little-endian N][N bytes: JSON header, space-padded][data]
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
// (byte offsets into the data section) and may hold "__metadata__": {string: string}.
// Tensors are packed back to back in offset order and cover the data exactly.

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"
#include "util/files.hpp"
#include "xgrad/autograd.hpp"
#include "xgrad/io.hpp"

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian and is copied to and from tensors as is");

namespace xgrad {

using detail::fail;

namespace {

using Json = nlohmann::ordered_json;  // writing: keeps the caller's order in the header
// Reading: a sorted map (an ordered_json object looks keys up linearly, so a header of
// n tensors would take O(n^2) to parse); tensors load in data-offset order, which is
// the order they were saved in.
using ParsedJson = nlohmann::json;

constexpr const char* kMetadataKey = "__metadata__";
constexpr std::uint64_t kLengthBytes = 8;      // the u64 header length
constexpr std::uint64_t kHeaderAlignment = 8;  // the reference implementation pads the JSON with spaces to this
constexpr std::uint64_t kMaxBytes = std::numeric_limits<std::int64_t>::max();
// Limits on what a header may ask for, far beyond any real file. A safetensors header
// nests three deep (file -> tensor -> shape); PyTorch tensors have at most 64 dims.
constexpr int kMaxJsonDepth = 16;
constexpr std::size_t kMaxRank = 64;
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // as the reference implementation
constexpr std::size_t kMaxExcerpt = 80;  // characters of a JSON value quoted in a message

std::string format_dtype(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "F32";
    case DType::f64:
      return "F64";
    case DType::i64:
      return "I64";
  }
  return "?";
}

std::optional<DType> parse_dtype(const std::string& name) {
  for (DType dtype : {f32, f64, i64})
    if (format_dtype(dtype) == name) return dtype;
  return std::nullopt;
}

std::uint64_t byte_size(const Tensor& t) { return static_cast<std::uint64_t>(t.numel()) * element_size(t.dtype()); }

// ---- save -------------------------------------------------------------------------

void check_savable(const nn::StateDict& tensors, const std::string& path) {
  std::set<std::string> names;
  for (const auto& [name, t] : tensors) {
    if (name == kMetadataKey)
      fail<ValueError>("save_safetensors: '{}': the name \"{}\" is reserved for the file's metadata", path, name);
    if (!names.insert(name).second)
      fail<ValueError>("save_safetensors: '{}': two tensors are named \"{}\"", path, name);
    if (!t.defined()) fail<ValueError>("save_safetensors: '{}': tensor \"{}\" is undefined", path, name);
  }
}

// The JSON header, padded with spaces to a multiple of 8 bytes. `tensors` are
// contiguous and laid out back to back in their order.
std::string encode_header(const nn::StateDict& tensors, const std::map<std::string, std::string>& metadata,
                          const std::string& path) {
  Json header = Json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    const std::uint64_t end = offset + byte_size(t);
    header[name] = {{"dtype", format_dtype(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const Json::type_error&) {
    fail<ValueError>("save_safetensors: '{}': a tensor name or metadata string is not valid UTF-8", path);
  }
  text.append((kHeaderAlignment - text.size() % kHeaderAlignment) % kHeaderAlignment, ' ');
  return text;
}

// ---- load -------------------------------------------------------------------------

template <class... Args>
[[noreturn]] void reject(const std::string& path, fmt::format_string<Args...> problem, Args&&... args) {
  fail<IOError>("load_safetensors: '{}': {}", path, fmt::format(problem, std::forward<Args>(args)...));
}

/// `value` as JSON text for a message, cut to kMaxExcerpt characters.
std::string excerpt(const ParsedJson& value) {
  std::string text = value.dump(-1, ' ', false, ParsedJson::error_handler_t::replace);
  if (text.size() > kMaxExcerpt) text = text.substr(0, kMaxExcerpt) + "...";
  return text;
}

/// One tensor as the header describes it.
struct TensorRecord {
  std::string name;
  DType dtype = f32;
  Shape shape;
  std::uint64_t begin = 0;  // byte range in the data section
  std::uint64_t end = 0;
};

void read_exactly(std::ifstream& in, const std::string& path, void* destination, std::uint64_t bytes) {
  in.read(static_cast<char*>(destination), static_cast<std::streamsize>(bytes));
  if (!in) reject(path, "reading {} bytes failed: {}", bytes, std::strerror(errno));
}

// A first pass over the header that builds nothing: refuses a name given twice in
// any object (JSON parsers otherwise keep the last one silently) and nesting deeper
// than kMaxJsonDepth, before the DOM is built. (nlohmann's parser callbacks would do
// it in one pass, but rescan the parent after every object: quadratic in the tensors.)
class HeaderChecker final : public nlohmann::json_sax<ParsedJson> {
 public:
  std::optional<std::string> problem;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    keys_.emplace_back();
    return enter();
  }
  bool key(string_t& name) override {
    if (keys_.back().insert(name).second) return true;
    problem = fmt::format("the header names \"{}\" twice", name);
    return false;
  }
  bool end_object() override {
    keys_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    keys_.emplace_back();  // keeps keys_ in step with depth_
    return enter();
  }
  bool end_array() override { return end_object(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    problem = fmt::format("the header is not valid JSON ({})", e.what());
    return false;
  }

 private:
  bool enter() {
    if (++depth_ <= kMaxJsonDepth) return true;
    problem = fmt::format("the header nests deeper than {} levels", kMaxJsonDepth);
    return false;
  }
  std::vector<std::set<std::string>> keys_;
  int depth_ = 0;
};

ParsedJson parse_header(const std::string& path, const std::string& text) {
  HeaderChecker checker;
  try {
    if (!ParsedJson::sax_parse(text, &checker) && !checker.problem) checker.problem = "the header is not valid JSON";
  } catch (const ParsedJson::exception& e) {  // out_of_range for a number like 1e400
    checker.problem = fmt::format("the header is not valid JSON ({})", e.what());
  }
  if (checker.problem) reject(path, "{}", *checker.problem);
  ParsedJson header;
  try {
    header = ParsedJson::parse(text);
  } catch (const ParsedJson::exception& e) {
    reject(path, "the header is not valid JSON ({})", e.what());
  }
  if (!header.is_object()) reject(path, "the header is not a JSON object");
  return header;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const ParsedJson& entry) {
  if (!entry.is_object()) reject(path, "\"{}\" must be an object of strings, got {}", kMetadataKey, excerpt(entry));
  std::map<std::string, std::string> metadata;
  for (const auto& [key, value] : entry.items()) {
    if (!value.is_string())
      reject(path, "\"{}\" must hold strings, but \"{}\" is {}", kMetadataKey, key, excerpt(value));
    metadata.emplace(key, value.get<std::string>());
  }
  return metadata;
}

const ParsedJson& field(const std::string& path, const std::string& name, const ParsedJson& entry, const char* key) {
  const auto it = entry.find(key);
  if (it == entry.end()) reject(path, "tensor \"{}\" has no \"{}\"", name, key);
  return *it;
}

// The non-negative integers of a JSON array, or nullopt when it is anything else.
std::optional<std::vector<std::uint64_t>> unsigned_array(const ParsedJson& value) {
  if (!value.is_array()) return std::nullopt;
  std::vector<std::uint64_t> out;
  for (const ParsedJson& v : value) {
    if (!v.is_number_unsigned()) return std::nullopt;
    out.push_back(v.get<std::uint64_t>());
  }
  return out;
}

// Element count of `shape` times `element_bytes`, or nullopt past 2^63 - 1.
std::optional<std::uint64_t> checked_byte_size(const std::vector<std::uint64_t>& shape, std::uint64_t element_bytes) {
  std::uint64_t bytes = element_bytes;
  for (std::uint64_t size : shape) {
    if (size > kMaxBytes || (size != 0 && bytes > kMaxBytes / size)) return std::nullopt;
    bytes *= size;
  }
  return bytes;
}

TensorRecord parse_record(const std::string& path, const std::string& name, const ParsedJson& entry) {
  if (!entry.is_object()) reject(path, "the entry of tensor \"{}\" is not an object: {}", name, excerpt(entry));
  const ParsedJson& dtype_field = field(path, name, entry, "dtype");
  const std::optional<DType> dtype =
      dtype_field.is_string() ? parse_dtype(dtype_field.get<std::string>()) : std::nullopt;
  if (!dtype)
    reject(path, "tensor \"{}\" has dtype {}, which xgrad does not load (F32, F64, I64)", name,
           excerpt(dtype_field));

  const ParsedJson& shape_field = field(path, name, entry, "shape");
  const auto shape = unsigned_array(shape_field);
  if (!shape) reject(path, "the shape of tensor \"{}\" is not a list of sizes: {}", name, excerpt(shape_field));
  if (shape->size() > kMaxRank)
    reject(path, "tensor \"{}\" has {} dims; xgrad loads at most {}", name, shape->size(), kMaxRank);
  const auto bytes = checked_byte_size(*shape, element_size(*dtype));
  if (!bytes) reject(path, "tensor \"{}\" of shape {} is too large", name, excerpt(shape_field));

  const ParsedJson& offsets_field = field(path, name, entry, "data_offsets");
  const auto offsets = unsigned_array(offsets_field);
  if (!offsets || offsets->size() != 2)
    reject(path, "the data_offsets of tensor \"{}\" are not [begin, end]: {}", name, excerpt(offsets_field));
  const std::uint64_t begin = (*offsets)[0], end = (*offsets)[1];
  if (end < begin) reject(path, "the data_offsets of tensor \"{}\" end before they begin: [{}, {}]", name, begin, end);
  if (end - begin != *bytes)
    reject(path, "tensor \"{}\" ({} {}) needs {} bytes but its data_offsets [{}, {}] span {}", name,
           dtype_field.get<std::string>(), excerpt(shape_field), *bytes, begin, end, end - begin);
  return {name, *dtype, Shape(shape->begin(), shape->end()), begin, end};
}

// `records` (sorted by offset) must tile the data section exactly: no overlap, no gap, nothing past its end.
void check_layout(const std::string& path, const std::vector<TensorRecord>& records, std::uint64_t data_bytes) {
  std::uint64_t covered = 0;
  const TensorRecord* previous = nullptr;
  for (const TensorRecord& r : records) {
    if (r.end > data_bytes)
      reject(path, "tensor \"{}\" has data_offsets [{}, {}] past the end of the data ({} bytes): the file is truncated",
             r.name, r.begin, r.end, data_bytes);
    if (r.begin < covered)
      reject(path, "tensors \"{}\" [{}, {}] and \"{}\" [{}, {}] overlap", previous->name, previous->begin,
             previous->end, r.name, r.begin, r.end);
    if (r.begin > covered) reject(path, "bytes [{}, {}) of the data belong to no tensor", covered, r.begin);
    covered = r.end;
    previous = &r;
  }
  if (covered != data_bytes)
    reject(path, "the data has {} bytes but the tensors cover only the first {}", data_bytes, covered);
}

}  // namespace

void save_safetensors(const nn::StateDict& tensors, const std::string& path,
                      const std::map<std::string, std::string>& metadata) {
  check_savable(tensors, path);
  nn::StateDict contiguous;
  {
    NoGradGuard no_grad;
    for (const auto& [name, t] : tensors) contiguous.emplace_back(name, t.detach().contiguous());
  }
  const std::string header = encode_header(contiguous, metadata, path);
  const std::uint64_t header_length = header.size();
  std::string file(reinterpret_cast<const char*>(&header_length), kLengthBytes);
  file += header;
  for (const auto& [name, t] : contiguous)
    file.append(reinterpret_cast<const char*>(t.impl()->element_ptr()), byte_size(t));
  detail::write_file_atomically(path, file, "save_safetensors");
}

nn::StateDict load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  std::error_code error;
  const std::uint64_t file_bytes = std::filesystem::file_size(path, error);
  if (error) reject(path, "cannot read it: {}", error.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) reject(path, "cannot open it: {}", std::strerror(errno));
  if (file_bytes < kLengthBytes)
    reject(path, "the file has {} bytes, fewer than the 8 of the header length", file_bytes);

  std::uint64_t header_length = 0;
  read_exactly(in, path, &header_length, kLengthBytes);
  if (header_length > file_bytes - kLengthBytes)
    reject(path, "the header length {} goes past the end of the file ({} bytes)", header_length, file_bytes);
  if (header_length > kMaxHeaderBytes)
    reject(path, "the header length {} is over the limit of {} bytes", header_length, kMaxHeaderBytes);
  std::string text(header_length, '\0');
  read_exactly(in, path, text.data(), header_length);

  const ParsedJson header = parse_header(path, text);
  std::map<std::string, std::string> found_metadata;
  std::vector<TensorRecord> records;
  for (const auto& [key, entry] : header.items()) {
    if (key == kMetadataKey) {
      found_metadata = parse_metadata(path, entry);
    } else {
      records.push_back(parse_record(path, key, entry));
    }
  }
  std::stable_sort(records.begin(), records.end(), [](const TensorRecord& a, const TensorRecord& b) {
    return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
  });
  check_layout(path, records, file_bytes - kLengthBytes - header_length);

  nn::StateDict tensors;
  for (const TensorRecord& r : records) {  // packed in offset order: read straight through
    Tensor t = detail::make_tensor(r.shape, r.dtype);
    read_exactly(in, path, t.impl()->element_ptr(), r.end - r.begin);
    tensors.emplace_back(r.name, t);
  }
  if (metadata) *metadata = std::move(found_metadata);
  return tensors;
}

void save(const nn::Module& module, const std::string& path) { save_safetensors(module.state_dict(), path); }

}  // namespace xgrad
