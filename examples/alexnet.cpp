// AlexNet (torchvision's layout) on Fashion-MNIST resized to 64x64, its smallest
// workable input (default 64; --size 224 for the original).
#include "backbone_run.hpp"

int main(int argc, char** argv) {
  const backbone::Settings settings = backbone::parse(argc, argv, "AlexNet", 64);
  return backbone::run("AlexNet", xgrad::models::alexnet({.num_classes = 10, .in_channels = 1}), settings,
                       0.01);
}
