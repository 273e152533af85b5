#pragma once
// Internal: a restricted unpickler. It runs Python's pickle opcodes (protocols 0-5)
// as data only: values go into a flat arena, globals must be on the caller's
// allow-list (checked when the GLOBAL or STACK_GLOBAL opcode names them), and a
// REDUCE never calls anything — it records the call for the caller to interpret,
// except for collections.OrderedDict, which becomes a dict. NEWOBJ, INST, OBJ and the
// extension registry (EXT*) are refused, as are out-of-band buffers. Every size is
// checked against the bytes left before anything is allocated, and the arena is
// capped, so a pickle never costs more than a small multiple of its own size.

#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace xgrad::detail::pickle {

using Id = std::uint32_t;

struct Value {
  enum class Kind : std::uint8_t {
    none,
    boolean,      // integer is 0 or 1
    integer,      // fits in 64 bits
    big_integer,  // text holds its little-endian two's-complement bytes
    floating,
    string,  // UTF-8 (or a protocol-0/1 byte string)
    bytes,
    tuple,
    list,  // also sets (a state_dict never needs their semantics)
    dict,  // items: key, value, key, value, ...
    global,      // text: "module.name"
    call,        // items: callable (a global), argument tuple; a REDUCE nobody ran
    persistent,  // items: the persistent id
  };
  Kind kind = Kind::none;
  std::int64_t integer = 0;
  double floating = 0;
  std::string text{};
  std::vector<Id> items{};
};

const char* kind_name(Value::Kind kind);

/// The values of one pickle; `root` is what STOP returned, `end` the offset after STOP.
struct Unpickled {
  std::vector<Value> values;
  Id root = 0;
  std::size_t end = 0;
  const Value& operator[](Id id) const { return values[id]; }
};

struct Rules {
  std::set<std::string> globals;  ///< "module.name" the pickle may name
  std::set<std::string> callable; ///< of those, the ones a REDUCE may call (recorded, not run)
  std::string refusal_hint;       ///< appended to the message when a global is refused
  std::size_t max_values = std::size_t{1} << 21;
};

/// Unpickles the first pickle in `data`. Throws IOError starting with `context` (e.g.
/// "load_torch: 'x.pth': data.pkl") naming the opcode, byte offset and problem.
Unpickled unpickle(std::span<const std::byte> data, const Rules& rules, const std::string& context);

}  // namespace xgrad::detail::pickle
