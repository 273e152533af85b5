#include <algorithm>
#include <cstring>

#include "tensor/allocator.hpp"
#include "tensor/tensor_impl.hpp"

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
    stride *= std::max<std::int64_t>(shape[d], 1);  // as PyTorch: a zero-size dim keeps outer strides nonzero
  }
  return strides;
}

std::int64_t shape_numel(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t s : shape) n *= s;
  return n;
}

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
  const std::int64_t n = shape_numel(shape);
  impl->storage = std::make_shared<Storage>(static_cast<std::size_t>(n) * element_size(dtype));
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
