// ResNet-18 (torchvision's layout) on Fashion-MNIST resized to 64x64 (--size 224
// for the original).
#include "backbone_run.hpp"

int main(int argc, char** argv) {
  const backbone::Settings settings = backbone::parse(argc, argv, "ResNet-18", 64);
  return backbone::run("ResNet-18", xgrad::models::resnet18({.num_classes = 10, .in_channels = 1}), settings,
                       0.01);
}
