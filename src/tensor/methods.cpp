// Tensor methods that forward to the functional ops (as LibTorch's x.exp()).

#include "xgrad/error.hpp"
#include "xgrad/ops.hpp"

namespace xgrad {

Tensor Tensor::contiguous() const { return xgrad::contiguous(*this); }
Tensor Tensor::reshape(const Shape& s) const { return xgrad::reshape(*this, s); }
Tensor Tensor::view(const Shape& s) const { return xgrad::view(*this, s); }
Tensor Tensor::flatten(std::int64_t start, std::int64_t end) const { return xgrad::flatten(*this, start, end); }
Tensor Tensor::transpose(std::int64_t d0, std::int64_t d1) const { return xgrad::transpose(*this, d0, d1); }
Tensor Tensor::t() const {
  if (dim() != 2) throw ShapeError("t: expects a 2-D tensor, got " + shape_to_string(shape()));
  return xgrad::transpose(*this, 0, 1);
}
Tensor Tensor::permute(const Shape& dims) const { return xgrad::permute(*this, dims); }
Tensor Tensor::squeeze() const { return xgrad::squeeze(*this); }
Tensor Tensor::squeeze(std::int64_t d) const { return xgrad::squeeze(*this, d); }
Tensor Tensor::unsqueeze(std::int64_t d) const { return xgrad::unsqueeze(*this, d); }
Tensor Tensor::expand(const Shape& s) const { return xgrad::expand(*this, s); }
Tensor Tensor::narrow(std::int64_t d, std::int64_t start, std::int64_t length) const {
  return xgrad::narrow(*this, d, start, length);
}
Tensor Tensor::slice(std::int64_t d, std::int64_t start, std::int64_t end, std::int64_t step) const {
  return xgrad::slice(*this, d, start, end, step);
}
Tensor Tensor::select(std::int64_t d, std::int64_t index) const { return xgrad::select(*this, d, index); }

Tensor Tensor::neg() const { return xgrad::neg(*this); }
Tensor Tensor::exp() const { return xgrad::exp(*this); }
Tensor Tensor::log() const { return xgrad::log(*this); }
Tensor Tensor::sqrt() const { return xgrad::sqrt(*this); }
Tensor Tensor::abs() const { return xgrad::abs(*this); }
Tensor Tensor::pow(double e) const { return xgrad::pow(*this, e); }
Tensor Tensor::pow(const Tensor& e) const { return xgrad::pow(*this, e); }
Tensor Tensor::clamp(std::optional<double> lo, std::optional<double> hi) const { return xgrad::clamp(*this, lo, hi); }
Tensor Tensor::relu() const { return xgrad::relu(*this); }
Tensor Tensor::sigmoid() const { return xgrad::sigmoid(*this); }
Tensor Tensor::tanh() const { return xgrad::tanh(*this); }
Tensor Tensor::sum() const { return xgrad::sum(*this); }
Tensor Tensor::sum(const Dims& dims, bool keepdim) const { return xgrad::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return xgrad::mean(*this); }
Tensor Tensor::mean(const Dims& dims, bool keepdim) const { return xgrad::mean(*this, dims, keepdim); }
Tensor Tensor::max() const { return xgrad::max(*this); }
ValuesIndices Tensor::max(std::int64_t d, bool keepdim) const { return xgrad::max(*this, d, keepdim); }
Tensor Tensor::min() const { return xgrad::min(*this); }
ValuesIndices Tensor::min(std::int64_t d, bool keepdim) const { return xgrad::min(*this, d, keepdim); }
Tensor Tensor::amax(const Dims& dims, bool keepdim) const { return xgrad::amax(*this, dims, keepdim); }
Tensor Tensor::amin(const Dims& dims, bool keepdim) const { return xgrad::amin(*this, dims, keepdim); }
Tensor Tensor::argmax(std::int64_t d, bool keepdim) const { return xgrad::argmax(*this, d, keepdim); }
Tensor Tensor::argmin(std::int64_t d, bool keepdim) const { return xgrad::argmin(*this, d, keepdim); }
Tensor Tensor::matmul(const Tensor& other) const { return xgrad::matmul(*this, other); }
Tensor Tensor::softmax(std::int64_t d) const { return xgrad::softmax(*this, d); }
Tensor Tensor::log_softmax(std::int64_t d) const { return xgrad::log_softmax(*this, d); }

}  // namespace xgrad
