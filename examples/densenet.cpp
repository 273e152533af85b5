// DenseNet-121 (torchvision's layout) on Fashion-MNIST resized to 32x32 (--size
// 224 for the original).
#include "backbone_run.hpp"

int main(int argc, char** argv) {
  const backbone::Settings settings = backbone::parse(argc, argv, "DenseNet-121", 32);
  return backbone::run("DenseNet-121", xgrad::models::densenet121({.num_classes = 10, .in_channels = 1}), settings,
                       0.01);
}
