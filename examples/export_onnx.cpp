// Exports any zoo model to ONNX, then reads the file back with onnx::load and
// checks that the imported graph gives the model's own logits.
//
//   ./build/examples/export_onnx --model resnet18                 # resnet18.onnx, 224x224, random weights
//   ./build/examples/export_onnx --model resnet50 --weights resnet50-11ad3fa6.pth --out r50.onnx
//   ./build/examples/export_onnx --model lenet5 --static-batch --opset 13

#include <xgrad/onnx.hpp>
#include <xgrad/xgrad.hpp>

#include <filesystem>
#include <functional>
#include <iostream>
#include <map>

#include "cli.hpp"

namespace models = xgrad::models;
using xgrad::Tensor;

namespace {

struct Zoo {
  std::function<std::shared_ptr<xgrad::nn::Module>(std::int64_t classes)> make;
  xgrad::Shape input;  // one image, the size the model is usually run at
};

const std::map<std::string, Zoo>& zoo() {
  const auto imagenet = [](auto factory) {
    return Zoo{[factory](std::int64_t c) { return factory(models::ModelOptions{.num_classes = c}); }, {3, 224, 224}};
  };
  const auto cifar = [](auto factory) {
    return Zoo{[factory](std::int64_t c) { return factory(models::CifarOptions{.num_classes = c}); }, {3, 32, 32}};
  };
  static const std::map<std::string, Zoo> table{
      {"lenet5", {[](std::int64_t c) { return models::lenet5({.num_classes = c}); }, {1, 28, 28}}},
      {"alexnet", imagenet([](auto o) { return models::alexnet(o); })},
      {"overfeat", {[](std::int64_t c) { return models::overfeat({.num_classes = c}); }, {3, 231, 231}}},
      {"vgg11", imagenet([](auto o) { return models::vgg11(o); })},
      {"vgg11_bn", imagenet([](auto o) { return models::vgg11_bn(o); })},
      {"vgg16", imagenet([](auto o) { return models::vgg16(o); })},
      {"vgg16_bn", imagenet([](auto o) { return models::vgg16_bn(o); })},
      {"resnet18", imagenet([](auto o) { return models::resnet18(o); })},
      {"resnet34", imagenet([](auto o) { return models::resnet34(o); })},
      {"resnet50", imagenet([](auto o) { return models::resnet50(o); })},
      {"resnet101", imagenet([](auto o) { return models::resnet101(o); })},
      {"resnet152", imagenet([](auto o) { return models::resnet152(o); })},
      {"resnet20", cifar([](auto o) { return models::resnet20(o); })},
      {"resnet56", cifar([](auto o) { return models::resnet56(o); })},
      {"densenet121", imagenet([](auto o) { return models::densenet121(o); })},
      {"densenet169", imagenet([](auto o) { return models::densenet169(o); })},
  };
  return table;
}

}  // namespace

int main(int argc, char** argv) {
  std::string name = "resnet18", out, weights;
  std::int64_t classes = 0, size = 0, batch = 1, opset = 17;
  bool static_batch = false;
  std::vector<std::string> names;
  for (const auto& [n, z] : zoo()) names.push_back(n);

  cli::App app{"Exports a zoo model to ONNX and checks the file by importing it again."};
  app.add_option("--model", name, "the zoo model")->check(CLI::IsMember(names));
  app.add_option("--out", out, "the ONNX file (default: <model>.onnx)");
  app.add_option("--weights", weights, "weights to load first (.pth, .safetensors)")->check(CLI::ExistingFile);
  app.add_option("--classes", classes, "output classes (0: the model's default)")->check(cli::non_negative);
  app.add_option("--size", size, "input height and width (0: the model's usual size)")->check(cli::non_negative);
  app.add_option("--batch", batch, "batch of the example input")->check(cli::positive);
  app.add_option("--opset", opset, "ONNX opset")->check(CLI::Range(13, 17));
  app.add_flag("--static-batch", static_batch, "fix the batch dim instead of a symbolic one");
  cli::parse_or_exit(app, argc, argv);
  if (out.empty()) out = name + ".onnx";

  try {
    const Zoo& entry = zoo().at(name);
    const std::int64_t default_classes = name == "lenet5" || name == "resnet20" || name == "resnet56" ? 10 : 1000;
    auto model = entry.make(classes > 0 ? classes : default_classes);
    if (!weights.empty()) xgrad::load(*model, weights);
    xgrad::Shape shape{batch};
    shape.insert(shape.end(), entry.input.begin(), entry.input.end());
    if (size > 0) shape[2] = shape[3] = size;
    const Tensor example = xgrad::randn(shape);

    xgrad::onnx::save(*model, example, out, {.opset = opset, .dynamic_batch = !static_batch});
    std::cout << name << " -> " << out << " (" << std::filesystem::file_size(out) / 1e6 << " MB, opset " << opset
              << ", input " << xgrad::shape_to_string(shape) << (static_batch ? "" : ", batch symbolic") << ")\n";

    const auto imported = xgrad::onnx::load(out);
    xgrad::NoGradGuard no_grad;
    model->eval();
    const Tensor expected = model->forward(example);
    const double difference = xgrad::max(xgrad::abs(imported->forward(example) - expected)).item();
    std::cout << "re-imported with onnx::load: max |logit difference| " << difference << " (max |logit| "
              << xgrad::max(xgrad::abs(expected)).item() << ")\n";
    return difference <= 1e-4 * (1 + xgrad::max(xgrad::abs(expected)).item()) ? 0 : 1;
  } catch (const xgrad::Error& e) {
    std::cerr << "export_onnx: " << e.what() << "\n";
    return 1;
  }
}
