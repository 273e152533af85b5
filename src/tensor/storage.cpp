#include <algorithm>
#include <cstring>

#include "tensor/allocator.hpp"
#include "tensor/tensor_impl.hpp"
#include "util/check.hpp"

namespace xgrad::detail {

namespace {
thread_local int poisoning = 0;
}

PoisonNewStorage::PoisonNewStorage() { ++poisoning; }
PoisonNewStorage::~PoisonNewStorage() { --poisoning; }

Storage::Storage(std::size_t nbytes) : nbytes_(nbytes) {
  const Block block = allocate_block(nbytes);
  data_ = block.data;
  capacity_ = block.capacity;
  if (poisoning > 0 && nbytes > 0) std::memset(data_, 0xff, nbytes);
}

Storage::~Storage() { release_block({data_, capacity_}); }

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  std::int64_t stride = 1;
  for (std::size_t d = shape.size(); d-- > 0;) {
    strides[d] = stride;
    // As PyTorch: a zero-size dim keeps outer strides nonzero.
    if (d > 0 && __builtin_mul_overflow(stride, std::max<std::int64_t>(shape[d], 1), &stride))
      fail<ValueError>("tensor: shape {} is too large (its strides overflow 64 bits)", str(shape));
  }
  return strides;
}

std::int64_t shape_numel(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t s : shape) n *= s;
  return n;
}

namespace {
// The bytes of a new tensor of `shape`, refusing negative sizes and sizes past 2^63.
std::size_t checked_bytes(const Shape& shape, DType dtype) {
  std::int64_t bytes = static_cast<std::int64_t>(element_size(dtype));
  for (std::int64_t s : shape) {
    if (s < 0) fail<ValueError>("tensor: shape {} has a negative size", str(shape));
    if (__builtin_mul_overflow(bytes, s, &bytes))
      fail<ValueError>("tensor: shape {} of {} is too large (over 2^63 bytes)", str(shape), dtype_name(dtype));
  }
  return static_cast<std::size_t>(bytes);
}
}  // namespace

Shape unravel_index(std::int64_t flat, const Shape& shape) {
  Shape index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

Tensor make_tensor(const Shape& shape, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(checked_bytes(shape, dtype));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, Shape shape, Shape strides, std::int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

}  // namespace xgrad::detail
