#pragma once
// Internal: what a Tensor handle points to. Not installed.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "xgrad/autograd.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::detail {

/// 64-byte aligned bytes shared by a tensor and its views (from the caching
/// allocator, tensor/allocator.hpp). The version counter
/// counts in-place writes, so saved tensors can tell they were overwritten.
class Storage {
 public:
  explicit Storage(std::size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  std::byte* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }
  std::uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  std::byte* data_ = nullptr;
  std::size_t nbytes_ = 0;
  std::size_t capacity_ = 0;  // of the block behind data_
  std::uint64_t version_ = 0;
};

/// While alive, storage made on this thread is filled with all bits set (NaN
/// for f32 and f64), so that elements an op leaves unwritten stand out: how
/// gradcheck catches a backward that forgets part of a gradient.
class PoisonNewStorage {
 public:
  PoisonNewStorage();
  ~PoisonNewStorage();
  PoisonNewStorage(const PoisonNewStorage&) = delete;
  PoisonNewStorage& operator=(const PoisonNewStorage&) = delete;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;  // elements
  std::int64_t offset = 0;  // elements
  DType dtype = DType::f32;

  // Autograd metadata.
  bool requires_grad = false;               // leaves only; non-leaves have grad_fn
  std::shared_ptr<autograd::Node> grad_fn;  // null for leaves
  std::uint32_t output_nr = 0;              // which output of grad_fn this is
  std::weak_ptr<autograd::Node> grad_accumulator;  // leaves: the node that fills grad
  Tensor grad;
  bool retains_grad = false;
  // Forward mode: the tangent of this tensor at dual level `tangent_level`
  // (valid only while that level is the active one).
  Tensor tangent;
  std::uint64_t tangent_level = 0;
  // Leaves: run, by id, after a backward has accumulated into `grad`.
  std::vector<std::pair<int, std::function<void(const Tensor&)>>> post_accumulate_hooks;

  std::byte* element_ptr() const {
    return storage->data() + static_cast<std::ptrdiff_t>(offset) *
                                 static_cast<std::ptrdiff_t>(element_size(dtype));
  }
};

/// Row-major strides of a contiguous tensor of `shape`.
Shape contiguous_strides(const Shape& shape);
std::int64_t shape_numel(const Shape& shape);
/// The multi-index of row-major position `flat` in `shape`.
Shape unravel_index(std::int64_t flat, const Shape& shape);
/// A new contiguous tensor of `shape` with fresh storage (uninitialised).
Tensor make_tensor(const Shape& shape, DType dtype);
/// A view of `base`'s storage with its own shape, strides and offset (no autograd).
Tensor make_view(const Tensor& base, Shape shape, Shape strides, std::int64_t offset);

/// Typed element pointer of any tensor (views included): element (0,...,0).
template <class T>
T* element_ptr(const Tensor& t) {
  return reinterpret_cast<T*>(t.impl()->element_ptr());
}

}  // namespace xgrad::detail
