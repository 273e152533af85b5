#include "util/check.hpp"

namespace xgrad::detail {

std::int64_t wrap_dim(const char* op, std::int64_t dim, std::int64_t ndim) {
  const std::int64_t rank = ndim == 0 ? 1 : ndim;  // a 0-d tensor accepts dim 0 and -1
  if (dim < -rank || dim >= rank)
    fail<ValueError>("{}: dim {} is out of range for a tensor of {} dims (expected [{}, {}])", op, dim,
                     ndim, -rank, rank - 1);
  return dim < 0 ? dim + rank : dim;
}

void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    fail<DTypeError>("{}: dtype mismatch, {} and {} (shapes {} and {}); convert one with .to()", op,
                     dtype_name(a.dtype()), dtype_name(b.dtype()), str(a.shape()), str(b.shape()));
}

void check_floating(const char* op, const Tensor& t) {
  if (!is_floating(t.dtype()))
    fail<DTypeError>("{}: expected a floating-point tensor (f32 or f64), got {} of shape {}", op,
                     dtype_name(t.dtype()), str(t.shape()));
}

void check_defined(const char* op, const Tensor& t, const char* what) {
  if (!t.defined()) fail<Error>("{}: {} is an undefined tensor", op, what);
}

}  // namespace xgrad::detail
