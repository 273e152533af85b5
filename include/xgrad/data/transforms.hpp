#pragma once
/// \file data/transforms.hpp
/// Per-example transforms of an image [C, H, W] (f32 or f64), as torchvision's
/// tensor transforms. Each is a callable `(input, generator) -> output`; random
/// ones draw from the generator they are given, so a DataLoader that seeds it
/// from (seed, epoch) makes augmentation reproducible.
///
///   using namespace xgrad::data::transforms;
///   xgrad::data::Transform augment = Compose({RandomCrop(28, 4), RandomHorizontalFlip(),
///                                             Normalize({0.2860}, {0.3530})});  // Fashion-MNIST
///
/// The usual normalisation constants (mean, std of the training images):
/// Fashion-MNIST {0.2860}, {0.3530}; MNIST {0.1307}, {0.3081};
/// CIFAR-10 {0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}.
///
/// Normalize, Pad and RandomCrop are built from xgrad ops; RandomHorizontalFlip
/// and Resize are plain loops that record nothing on the tape (data preparation).

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <vector>

#include "xgrad/random.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::data {

/// A per-example transform of a DataLoader.
using Transform = std::function<Tensor(const Tensor& input, Generator& generator)>;

/// A uniform integer in [0, n) drawn from `generator` (n >= 1): the shuffle's
/// and the random transforms' one way of drawing positions. Not locked: the
/// caller owns the generator (lock default_generator()'s mutex to use that one).
std::int64_t random_index(Generator& generator, std::int64_t n);

namespace transforms {

/// (input - mean[c]) / std[c] for each channel c. One value applies to every
/// channel; otherwise there must be one per channel.
class Normalize {
 public:
  Normalize(std::vector<double> mean, std::vector<double> std);
  Tensor operator()(const Tensor& input, Generator& generator) const;

 private:
  std::vector<double> mean_, std_;
};

/// Constant padding of the two spatial dims. `padding` is one value (every
/// side), {left/right, top/bottom} or {left, top, right, bottom}, as torchvision.
/// (Braced lists, not vectors, so that Pad({1, 2}) cannot be read as Pad(1, 2).)
class Pad {
 public:
  explicit Pad(std::int64_t padding, double value = 0.0);
  explicit Pad(std::initializer_list<std::int64_t> padding, double value = 0.0);
  Tensor operator()(const Tensor& input, Generator& generator) const;

 private:
  std::int64_t left_ = 0, top_ = 0, right_ = 0, bottom_ = 0;
  double value_ = 0.0;
};

/// Pads every side by `padding` (with zeros), then cuts out a window of `size`
/// ({H, W}, or one value for a square) at a uniformly drawn position: the top
/// row first, then the left column, each uniform over every position that fits.
class RandomCrop {
 public:
  explicit RandomCrop(std::int64_t size, std::int64_t padding = 0);
  explicit RandomCrop(std::initializer_list<std::int64_t> size, std::int64_t padding = 0);
  Tensor operator()(const Tensor& input, Generator& generator) const;

 private:
  std::int64_t height_ = 0, width_ = 0, padding_ = 0;
};

/// Mirrors the image left to right with probability p (one draw per call).
class RandomHorizontalFlip {
 public:
  explicit RandomHorizontalFlip(double p = 0.5);
  Tensor operator()(const Tensor& input, Generator& generator) const;

 private:
  double p_ = 0.5;
};

/// Bilinear resize to {H, W} with align_corners = false and no antialiasing,
/// the values of torchvision's Resize(size, antialias=False) on a float tensor
/// (= torch.nn.functional.interpolate(mode="bilinear")).
class Resize {
 public:
  explicit Resize(std::vector<std::int64_t> size);
  Tensor operator()(const Tensor& input, Generator& generator) const;

 private:
  std::int64_t height_ = 0, width_ = 0;
};

/// Applies the transforms in order.
class Compose {
 public:
  explicit Compose(std::vector<Transform> transforms);
  Tensor operator()(const Tensor& input, Generator& generator) const;

 private:
  std::vector<Transform> transforms_;
};

}  // namespace transforms
}  // namespace xgrad::data
