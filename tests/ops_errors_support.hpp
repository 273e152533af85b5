#pragma once
// Shared helpers for the table-driven error tests of the public ops
// (test_ops_errors*.cpp), in the spirit of PyTorch OpInfo's error_inputs: each
// case calls one op with bad input and names the xgrad::Error subclass it must
// throw and the substrings its message must contain (the op's name is always
// required, the values at fault are listed per case).

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <typeindex>
#include <typeinfo>
#include <utility>
#include <vector>

#include "xgrad/xgrad.hpp"

namespace xgrad::testing::errors {

struct ErrorCase {
  std::string name;                     ///< short, unique: "conv2d/stride_zero"
  std::string op;                       ///< the op's name; the message must contain it
  std::function<void()> call;           ///< makes the bad call
  std::type_index expected;             ///< the exact xgrad::Error subclass
  std::vector<std::string> substrings;  ///< the values at fault the message must name
};

using Cases = std::vector<ErrorCase>;

/// Appends a case expecting exactly the exception type E.
template <class E>
void expect(Cases& cases, std::string name, std::string op, std::function<void()> call,
         std::vector<std::string> substrings) {
  cases.push_back({std::move(name), std::move(op), std::move(call), std::type_index(typeid(E)), std::move(substrings)});
}

inline std::string error_type_name(const std::type_index& type) {
  if (type == typeid(Error)) return "xgrad::Error";
  if (type == typeid(ShapeError)) return "xgrad::ShapeError";
  if (type == typeid(DTypeError)) return "xgrad::DTypeError";
  if (type == typeid(ValueError)) return "xgrad::ValueError";
  if (type == typeid(AutogradError)) return "xgrad::AutogradError";
  if (type == typeid(IOError)) return "xgrad::IOError";
  return type.name();
}

/// An empty string when the case behaves as expected, else what went wrong.
inline std::string check_case(const ErrorCase& c) {
  try {
    c.call();
  } catch (const Error& e) {
    const std::type_index thrown(typeid(e));
    const std::string message = e.what();
    if (thrown != c.expected)
      return "threw " + error_type_name(thrown) + " instead of " + error_type_name(c.expected) + ": \"" + message +
             "\"";
    std::string missing;
    std::vector<std::string> wanted = c.substrings;
    wanted.insert(wanted.begin(), c.op + ":");  // messages start "op: ..."
    for (const std::string& s : wanted)
      if (message.find(s) == std::string::npos) missing += (missing.empty() ? "\"" : ", \"") + s + "\"";
    if (!missing.empty()) return "message \"" + message + "\" lacks " + missing;
    return {};
  } catch (const std::exception& e) {
    return std::string("threw a non-xgrad exception (") + typeid(e).name() + "): \"" + e.what() + "\"";
  } catch (...) {
    return "threw something that is not a std::exception";
  }
  return "threw nothing (expected " + error_type_name(c.expected) + ")";
}

/// Checks every case, one failed CHECK per bad case naming it; silent on success.
inline void run_cases(const Cases& cases) {
  REQUIRE_FALSE(cases.empty());
  for (const ErrorCase& c : cases) {
    const std::string problem = check_case(c);
    if (!problem.empty()) FAIL_CHECK("case " << c.name << " (op " << c.op << "): " << problem);
  }
  SUCCEED();
}

// ---- inputs -------------------------------------------------------------------

inline Tensor t32(const Shape& shape) { return zeros(shape); }
inline Tensor t64(const Shape& shape) { return zeros(shape, {.dtype = f64}); }
inline Tensor ti64(const Shape& shape) { return zeros(shape, {.dtype = i64}); }
inline Tensor labels(const std::vector<std::int64_t>& values, const Shape& shape) {
  return from_vector(values, shape, {.dtype = i64});
}
/// [lead..., v, v, ...] with n copies of v.
inline Shape lead_then(std::initializer_list<std::int64_t> lead, std::size_t n, std::int64_t v) {
  Shape s(lead);
  s.insert(s.end(), n, v);
  return s;
}
/// n copies of v, as a Spatial option or a shape.
inline Shape rep(std::size_t n, std::int64_t v) { return Shape(n, v); }
inline std::string S(const Shape& shape) { return shape_to_string(shape); }

// ---- the families (one table per file) -------------------------------------------

Cases elementwise_cases();  // math, activation, arithmetic, reductions, softmax
Cases shape_cases();        // views, joins, pad, matmul, linear
Cases conv_cases();         // conv*d, conv_transpose*d
Cases pool_cases();         // max, avg, adaptive and global pooling
Cases nn_cases();           // losses, batch_norm, dropout, local_response_norm, interpolation

}  // namespace xgrad::testing::errors
