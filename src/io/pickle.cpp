// The restricted unpickler (see pickle.hpp). Opcode names and layouts follow
// CPython's Lib/pickletools.py, which documents every opcode of protocols 0-5.

#include "io/pickle.hpp"

#include <bit>
#include <charconv>
#include <cstring>
#include <unordered_map>

#include "util/check.hpp"

static_assert(std::endian::native == std::endian::little, "pickle integers are little-endian and read as is");

namespace xgrad::detail::pickle {

using Kind = Value::Kind;

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::none: return "None";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::big_integer: return "int";
    case Kind::floating: return "float";
    case Kind::string: return "str";
    case Kind::bytes: return "bytes";
    case Kind::tuple: return "tuple";
    case Kind::list: return "list";
    case Kind::dict: return "dict";
    case Kind::global: return "global";
    case Kind::call: return "call";
    case Kind::persistent: return "persistent id";
  }
  return "?";
}

namespace {

constexpr std::size_t kMaxLine = 1 << 16;  // protocol-0 text arguments (numbers, names)
constexpr std::size_t kMaxIntegerBytes = 64;  // LONG1/LONG4: the legacy magic number needs 10

class Machine {
 public:
  Machine(std::span<const std::byte> data, const Rules& rules, const std::string& context)
      : data_(data), rules_(rules), context_(context) {}

  Unpickled run() {
    while (true) {
      opcode_at_ = pos_;
      const auto op = static_cast<unsigned char>(read_byte());
      if (op == '.') break;
      step(op);
    }
    if (stack_.empty()) fail_here("STOP with an empty stack");
    result_.root = stack_.back();
    result_.end = pos_;
    return std::move(result_);
  }

 private:
  [[noreturn]] void fail_here(const std::string& what) const {
    fail<IOError>("{}: byte {}: {}", context_, opcode_at_, what);
  }

  // ---- reading ---------------------------------------------------------------------
  std::span<const std::byte> take(std::uint64_t count) {
    if (count > data_.size() - pos_)
      fail_here(fmt::format("needs {} bytes but only {} are left (the pickle is truncated)", count,
                            data_.size() - pos_));
    auto part = data_.subspan(pos_, static_cast<std::size_t>(count));
    pos_ += static_cast<std::size_t>(count);
    return part;
  }
  std::byte read_byte() { return take(1)[0]; }
  template <class T>
  T read_le() {
    T value;
    std::memcpy(&value, take(sizeof(T)).data(), sizeof(T));
    return value;
  }
  std::string read_text(std::uint64_t count) {
    auto part = take(count);
    return {reinterpret_cast<const char*>(part.data()), part.size()};
  }
  std::string read_line() {
    for (std::size_t i = pos_; i < data_.size() && i - pos_ < kMaxLine; ++i)
      if (data_[i] == std::byte{'\n'}) {
        std::string line = read_text(i - pos_);
        ++pos_;
        return line;
      }
    fail_here("a text argument has no end of line");
  }
  std::int64_t parse_decimal(std::string text) {
    if (!text.empty() && text.back() == 'L') text.pop_back();  // protocol-0 LONG
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size())
      fail_here(fmt::format("\"{}\" is not a 64-bit integer", text.substr(0, 40)));
    return value;
  }

  // ---- values and the stack ----------------------------------------------------------
  Id make(Value value) {
    if (result_.values.size() >= rules_.max_values)
      fail_here(fmt::format("the pickle holds more than {} values", rules_.max_values));
    result_.values.push_back(std::move(value));
    return static_cast<Id>(result_.values.size() - 1);
  }
  Id make(Kind kind, std::vector<Id> items = {}) { return make(Value{.kind = kind, .items = std::move(items)}); }
  Value& at(Id id) { return result_.values[id]; }
  void push(Id id) { stack_.push_back(id); }
  Id pop(const char* op) {
    if (stack_.size() <= floor()) fail_here(fmt::format("{} needs a value but the stack is empty", op));
    const Id id = stack_.back();
    stack_.pop_back();
    return id;
  }
  Id& top(const char* op) {
    if (stack_.size() <= floor()) fail_here(fmt::format("{} needs a value but the stack is empty", op));
    return stack_.back();
  }
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  // Pops everything above the last MARK, and the mark.
  std::vector<Id> pop_mark(const char* op) {
    if (marks_.empty()) fail_here(fmt::format("{} needs a MARK but there is none", op));
    std::vector<Id> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  Value& container(Id id, Kind kind, const char* op) {
    Value& v = at(id);
    if (v.kind != kind)
      fail_here(fmt::format("{} needs a {} but finds a {}", op, kind_name(kind), kind_name(v.kind)));
    return v;
  }
  void append(Id list, const std::vector<Id>& items, const char* op) {
    Value& v = container(list, Kind::list, op);
    v.items.insert(v.items.end(), items.begin(), items.end());
  }
  void set_items(Id dict, const std::vector<Id>& items, const char* op) {
    if (items.size() % 2) fail_here(fmt::format("{} needs key-value pairs but has {} values", op, items.size()));
    Value& v = container(dict, Kind::dict, op);
    v.items.insert(v.items.end(), items.begin(), items.end());
  }
  void memo_put(std::uint64_t index) {
    if (stack_.size() <= floor()) fail_here("a memo PUT with an empty stack");
    memo_[index] = stack_.back();
  }
  void memo_get(std::uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail_here(fmt::format("memo entry {} was never stored", index));
    push(it->second);
  }

  // ---- globals and calls -------------------------------------------------------------
  void global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    if (!rules_.globals.count(full))
      fail_here(fmt::format("the pickle asks for the Python global '{}', which is not allowed{}", full.substr(0, 200),
                            rules_.refusal_hint));
    push(make(Value{.kind = Kind::global, .text = full}));
  }
  void reduce() {
    const Id args = pop("REDUCE");
    const Id callable = pop("REDUCE");
    if (at(callable).kind != Kind::global)
      fail_here(fmt::format("REDUCE calls a {}, not a global", kind_name(at(callable).kind)));
    const std::string& name = at(callable).text;
    if (!rules_.callable.count(name)) fail_here(fmt::format("REDUCE would call '{}', which is not allowed", name));
    const Value& arguments = container(args, Kind::tuple, "REDUCE");
    if (name == "collections.OrderedDict") {
      push(ordered_dict(arguments));
      return;
    }
    push(make(Kind::call, {callable, args}));
  }
  // OrderedDict() or OrderedDict([(key, value), ...]).
  Id ordered_dict(const Value& arguments) {
    std::vector<Id> items;
    if (!arguments.items.empty()) {
      const Value& pairs = at(arguments.items[0]);
      if (arguments.items.size() != 1 || (pairs.kind != Kind::list && pairs.kind != Kind::tuple))
        fail_here("OrderedDict takes nothing or one list of pairs");
      for (Id pair : pairs.items) {
        const Value& p = at(pair);
        if (p.kind != Kind::tuple || p.items.size() != 2) fail_here("OrderedDict's list holds something not a pair");
        items.insert(items.end(), p.items.begin(), p.items.end());
      }
    }
    return make(Kind::dict, std::move(items));
  }

  void step(unsigned char op);

  std::span<const std::byte> data_;
  const Rules& rules_;
  const std::string& context_;
  std::size_t pos_ = 0;
  std::size_t opcode_at_ = 0;
  std::vector<Id> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Id> memo_;
  Unpickled result_;
};

void Machine::step(unsigned char op) {
  const auto string_value = [&](std::string text, Kind kind = Kind::string) {
    push(make(Value{.kind = kind, .text = std::move(text)}));
  };
  const auto integer = [&](std::int64_t v) { push(make(Value{.kind = Kind::integer, .integer = v})); };
  const auto boolean = [&](bool v) { push(make(Value{.kind = Kind::boolean, .integer = v})); };
  const auto tuple_of = [&](std::size_t n) {
    if (stack_.size() < floor() + n) fail_here(fmt::format("TUPLE{} needs {} values on the stack", n, n));
    std::vector<Id> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
    stack_.resize(stack_.size() - n);
    push(make(Kind::tuple, std::move(items)));
  };
  const auto long_integer = [&](std::uint64_t n) {
    if (n > kMaxIntegerBytes) fail_here(fmt::format("an integer of {} bytes is over the limit of {}", n, kMaxIntegerBytes));
    const std::string bytes = read_text(n);
    if (n <= 8) {
      std::uint64_t v = 0;
      for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
      if (n > 0 && n < 8 && (static_cast<unsigned char>(bytes[n - 1]) & 0x80)) v |= ~std::uint64_t{0} << (8 * n);
      integer(static_cast<std::int64_t>(v));
    } else {
      string_value(bytes, Kind::big_integer);
    }
  };

  switch (op) {
    case 0x80: {  // PROTO
      const auto version = static_cast<unsigned>(read_byte());
      if (version > 5) fail_here(fmt::format("pickle protocol {} is newer than 5", version));
      return;
    }
    case 0x95:  // FRAME: a length prefix for the opcodes that follow; they are read as usual
      read_le<std::uint64_t>();
      return;
    case '(': marks_.push_back(stack_.size()); return;            // MARK
    case '0': pop("POP"); return;                                 // POP
    case '1': pop_mark("POP_MARK"); return;                       // POP_MARK
    case '2': {                                                   // DUP
      const Id id = top("DUP");
      push(id);
      return;
    }
    case 'N': push(make(Kind::none)); return;                     // NONE
    case 0x88: boolean(true); return;                             // NEWTRUE
    case 0x89: boolean(false); return;                            // NEWFALSE
    case 'J': integer(read_le<std::int32_t>()); return;           // BININT
    case 'K': integer(static_cast<unsigned char>(read_byte())); return;  // BININT1
    case 'M': integer(read_le<std::uint16_t>()); return;          // BININT2
    case 0x8a: long_integer(static_cast<unsigned char>(read_byte())); return;  // LONG1
    case 0x8b: {                                                  // LONG4
      const std::int32_t n = read_le<std::int32_t>();
      if (n < 0) fail_here("LONG4 with a negative length");
      long_integer(static_cast<std::uint64_t>(n));
      return;
    }
    case 'I': {  // INT (protocol 0): "01"/"00" are True/False
      const std::string line = read_line();
      if (line == "01" || line == "00") boolean(line == "01");
      else integer(parse_decimal(line));
      return;
    }
    case 'L': integer(parse_decimal(read_line())); return;  // LONG (protocol 0)
    case 'G': {                                           // BINFLOAT: big-endian double
      std::uint64_t bits = 0;
      for (std::byte b : take(8)) bits = bits << 8 | static_cast<std::uint64_t>(b);
      push(make(Value{.kind = Kind::floating, .floating = std::bit_cast<double>(bits)}));
      return;
    }
    case 'F': {  // FLOAT (protocol 0)
      const std::string line = read_line();
      double v = 0;
      const auto [end, error] = std::from_chars(line.data(), line.data() + line.size(), v);
      if (error != std::errc() || end != line.data() + line.size()) fail_here("FLOAT with a malformed number");
      push(make(Value{.kind = Kind::floating, .floating = v}));
      return;
    }
    case 'X': string_value(read_text(read_le<std::uint32_t>())); return;           // BINUNICODE
    case 0x8c: string_value(read_text(static_cast<unsigned char>(read_byte()))); return;  // SHORT_BINUNICODE
    case 0x8d: string_value(read_text(read_le<std::uint64_t>())); return;          // BINUNICODE8
    case 'T': {                                                                  // BINSTRING
      const std::int32_t n = read_le<std::int32_t>();
      if (n < 0) fail_here("BINSTRING with a negative length");
      string_value(read_text(static_cast<std::uint64_t>(n)));
      return;
    }
    case 'U': string_value(read_text(static_cast<unsigned char>(read_byte()))); return;  // SHORT_BINSTRING
    case 'V': string_value(read_line()); return;  // UNICODE (protocol 0, raw-unicode-escape: kept as is)
    case 'S': {                                   // STRING (protocol 0): a quoted repr, kept without its quotes
      std::string line = read_line();
      if (line.size() < 2 || line.front() != line.back() || (line.front() != '\'' && line.front() != '"'))
        fail_here("STRING without quotes");
      string_value(line.substr(1, line.size() - 2));
      return;
    }
    case 'B': string_value(read_text(read_le<std::uint32_t>()), Kind::bytes); return;   // BINBYTES
    case 'C': string_value(read_text(static_cast<unsigned char>(read_byte())), Kind::bytes); return;  // SHORT_BINBYTES
    case 0x8e: string_value(read_text(read_le<std::uint64_t>()), Kind::bytes); return;  // BINBYTES8
    case 0x96: string_value(read_text(read_le<std::uint64_t>()), Kind::bytes); return;  // BYTEARRAY8
    case ')': push(make(Kind::tuple)); return;                                         // EMPTY_TUPLE
    case 't': push(make(Kind::tuple, pop_mark("TUPLE"))); return;                       // TUPLE
    case 0x85: tuple_of(1); return;                                                    // TUPLE1
    case 0x86: tuple_of(2); return;                                                    // TUPLE2
    case 0x87: tuple_of(3); return;                                                    // TUPLE3
    case ']': push(make(Kind::list)); return;                                          // EMPTY_LIST
    case 'l': push(make(Kind::list, pop_mark("LIST"))); return;                         // LIST
    case 0x8f: push(make(Kind::list)); return;                                         // EMPTY_SET
    case 0x91: push(make(Kind::list, pop_mark("FROZENSET"))); return;                   // FROZENSET
    case 'a': {                                                                        // APPEND
      const Id item = pop("APPEND");
      append(top("APPEND"), {item}, "APPEND");
      return;
    }
    case 'e': case 0x90: {  // APPENDS, ADDITEMS
      std::vector<Id> items = pop_mark("APPENDS");
      append(top("APPENDS"), items, "APPENDS");
      return;
    }
    case '}': push(make(Kind::dict)); return;                                          // EMPTY_DICT
    case 'd': {                                                                        // DICT
      std::vector<Id> items = pop_mark("DICT");
      const Id dict = make(Kind::dict);
      set_items(dict, items, "DICT");
      push(dict);
      return;
    }
    case 's': {  // SETITEM
      const Id value = pop("SETITEM");
      const Id key = pop("SETITEM");
      set_items(top("SETITEM"), {key, value}, "SETITEM");
      return;
    }
    case 'u': {  // SETITEMS
      std::vector<Id> items = pop_mark("SETITEMS");
      set_items(top("SETITEMS"), items, "SETITEMS");
      return;
    }
    case 'q': memo_put(static_cast<unsigned char>(read_byte())); return;               // BINPUT
    case 'r': memo_put(read_le<std::uint32_t>()); return;                              // LONG_BINPUT
    case 'p': memo_put(static_cast<std::uint64_t>(parse_decimal(read_line()))); return;  // PUT
    case 0x94: memo_put(memo_.size()); return;                                          // MEMOIZE
    case 'h': memo_get(static_cast<unsigned char>(read_byte())); return;               // BINGET
    case 'j': memo_get(read_le<std::uint32_t>()); return;                              // LONG_BINGET
    case 'g': memo_get(static_cast<std::uint64_t>(parse_decimal(read_line()))); return;  // GET
    case 'c': {                                                                        // GLOBAL
      const std::string module = read_line();
      global(module, read_line());
      return;
    }
    case 0x93: {  // STACK_GLOBAL
      const Id name = pop("STACK_GLOBAL");
      const Id module = pop("STACK_GLOBAL");
      global(container(module, Kind::string, "STACK_GLOBAL").text, container(name, Kind::string, "STACK_GLOBAL").text);
      return;
    }
    case 'R': reduce(); return;  // REDUCE
    case 'b': {                  // BUILD: a dict's __setstate__ (OrderedDict's _metadata); the state is dropped
      pop("BUILD");
      container(top("BUILD"), Kind::dict, "BUILD");
      return;
    }
    case 'Q': push(make(Kind::persistent, {pop("BINPERSID")})); return;  // BINPERSID
    case 'P': {                                                          // PERSID (protocol 0)
      const Id id = make(Value{.kind = Kind::string, .text = read_line()});
      push(make(Kind::persistent, {id}));
      return;
    }
    case 0x81: case 0x92: fail_here("NEWOBJ creates an arbitrary object, which a state_dict never needs");
    case 'i': case 'o': fail_here("INST/OBJ create an arbitrary object, which a state_dict never needs");
    case 0x82: case 0x83: case 0x84: fail_here("EXT opcodes name globals through the copyreg registry, which is not allowed");
    case 0x97: case 0x98: fail_here("out-of-band buffers (protocol 5) are not supported");
    default: fail_here(fmt::format("unknown opcode 0x{:02x}", op));
  }
}

}  // namespace

Unpickled unpickle(std::span<const std::byte> data, const Rules& rules, const std::string& context) {
  return Machine(data, rules, context).run();
}

}  // namespace xgrad::detail::pickle
