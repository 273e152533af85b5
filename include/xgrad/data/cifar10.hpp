#pragma once
/// \file data/cifar10.hpp
/// CIFAR-10 in its binary version (cifar-10-binary.tar.gz, extracted to
/// cifar-10-batches-bin/): data_batch_1.bin ... data_batch_5.bin (50000 training
/// images) and test_batch.bin (10000). Each record is one label byte followed by
/// 3072 pixel bytes: the 32x32 red plane, then green, then blue, rows first.
///
///   xgrad::data::CIFAR10 train("data/cifar-10-batches-bin");
///   train.get(0).input;  // f32 [3, 32, 32] in [0, 1]

#include <string>
#include <vector>

#include "xgrad/data/dataset.hpp"

namespace xgrad::data {

class CIFAR10 : public TensorDataset {
 public:
  /// Reads every file of the split from the folder `root`. Throws IOError naming
  /// the file when one is missing, is not a whole number of 3073-byte records,
  /// or holds a label outside 0..9.
  explicit CIFAR10(const std::string& root, bool train = true);

  const Tensor& images() const { return inputs(); }   ///< f32 [N, 3, 32, 32]
  const Tensor& labels() const { return targets(); }  ///< i64 [N]
  /// "airplane", "automobile", ..., "truck", by label.
  const std::vector<std::string>& classes() const;
};

}  // namespace xgrad::data
