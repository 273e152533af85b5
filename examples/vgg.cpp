// VGG-11 with batch norm on Fashion-MNIST resized to 32x32 (VGG's smallest
// input; --size 224 for the original).
#include "backbone_run.hpp"

int main(int argc, char** argv) {
  const backbone::Settings settings = backbone::parse(argc, argv, "VGG-11-BN", 32);
  return backbone::run("VGG-11-BN", xgrad::models::vgg11_bn({.num_classes = 10, .in_channels = 1}), settings,
                       0.001);
}
