#pragma once
/// \file data/mnist.hpp
/// IDX files (the format of MNIST and Fashion-MNIST) and the two datasets.
///
///   xgrad::data::FashionMNIST train;                   // Debian's dataset-fashion-mnist
///   xgrad::data::FashionMNIST test(xgrad::data::FashionMNIST::default_root, false);
///   train.size();  // 60000;  train.get(0).input is f32 [1, 28, 28] in [0, 1]
///
/// An IDX file is big-endian: magic number (2051 for images, 2049 for labels),
/// then one 32-bit size per dim (count, rows, cols), then unsigned bytes.
/// Files are read through zlib, which decompresses gzip streams and passes other
/// files through unchanged; a name ending in ".gz" must hold a gzip stream. Every
/// problem (missing file, corrupt gzip data, wrong magic number, truncated data,
/// bytes past the announced end) throws IOError naming the file.

#include <string>
#include <vector>

#include "xgrad/data/dataset.hpp"

namespace xgrad::data {

/// An IDX image file as f32 [N, 1, rows, cols], pixel values / 255.
Tensor read_idx_images(const std::string& path);
/// An IDX label file as i64 [N].
Tensor read_idx_labels(const std::string& path);

/// MNIST from `root`, a folder holding train-images-idx3-ubyte,
/// train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte,
/// each either as such or gzipped with ".gz" appended (the plain name is tried
/// first). `train` picks the 60000-image training split, else the 10000-image
/// test split. Inputs are f32 [1, 28, 28] in [0, 1], targets i64 [] in 0..9.
/// Throws IOError when the files are missing or malformed, hold different
/// numbers of images and labels, or a label outside the classes.
class MNIST : public TensorDataset {
 public:
  explicit MNIST(const std::string& root, bool train = true);

  const Tensor& images() const { return inputs(); }   ///< [N, 1, 28, 28]
  const Tensor& labels() const { return targets(); }  ///< [N]
  /// Class names by label, as torchvision's `classes`.
  const std::vector<std::string>& classes() const { return classes_; }

 protected:
  /// `name` is used in messages; `hint` is appended when the files are missing.
  MNIST(const std::string& root, bool train, const char* name, std::vector<std::string> classes, const char* hint);

 private:
  std::vector<std::string> classes_;
};

/// Fashion-MNIST (Zalando's clothing images): MNIST's format and file names.
/// Its training images have mean 0.2860 and standard deviation 0.3530, the usual
/// constants for transforms::Normalize({0.2860}, {0.3530}).
class FashionMNIST : public MNIST {
 public:
  /// Where Debian's dataset-fashion-mnist package installs the files.
  static constexpr const char* default_root = "/usr/share/datasets/fashion-mnist";

  explicit FashionMNIST(const std::string& root = default_root, bool train = true);
};

}  // namespace xgrad::data
