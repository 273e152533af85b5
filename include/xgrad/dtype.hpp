#pragma once
/// \file dtype.hpp
/// Element types of a Tensor.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace xgrad {

enum class DType : std::uint8_t { f32, f64, i64 };

inline constexpr DType f32 = DType::f32;  ///< float, the default
inline constexpr DType f64 = DType::f64;  ///< double, for gradient checks
inline constexpr DType i64 = DType::i64;  ///< int64_t, for labels and indices

constexpr std::size_t element_size(DType t) {
  return t == DType::f32 ? sizeof(float) : sizeof(double);  // double and int64_t are both 8
}

constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::i64: return "i64";
  }
  return "?";
}

constexpr bool is_floating(DType t) { return t == DType::f32 || t == DType::f64; }

/// The DType of a C++ element type: dtype_of<float> == f32. Other types do not compile.
template <class T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::f32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::f64; };
template <> struct DTypeOf<std::int64_t> { static constexpr DType value = DType::i64; };
template <class T> inline constexpr DType dtype_of = DTypeOf<T>::value;

}  // namespace xgrad
