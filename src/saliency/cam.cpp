// Class Activation Mapping: the classifier's weights for one class applied to
// the last feature maps.

#include <memory>
#include <string>

#include "saliency/support.hpp"
#include "util/check.hpp"
#include "xgrad/autograd.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/ops/linalg.hpp"
#include "xgrad/saliency.hpp"

namespace xgrad::saliency {

using xgrad::detail::fail;
using xgrad::detail::str;

namespace {

struct Classifier {
  std::string name;
  std::shared_ptr<nn::Linear> linear;
};

Classifier find_classifier(nn::Module& model, const std::string& name) {
  if (!name.empty()) {
    const std::shared_ptr<nn::Module> module = detail::find_module("cam", model, name);
    auto linear = std::dynamic_pointer_cast<nn::Linear>(module);
    if (!linear) fail<ValueError>("cam: the classifier \"{}\" is a {}, not a Linear", name, module->type_name());
    return {name, linear};
  }
  Classifier last;
  for (auto& [module_name, module] : model.named_modules())
    if (auto linear = std::dynamic_pointer_cast<nn::Linear>(module)) last = {module_name, linear};
  if (!last.linear)
    fail<ValueError>("cam: the model ({}) has no nn::Linear to use as the classifier", model.type_name());
  return last;
}

// Feature maps [1, K, h, w] for a classifier of K inputs.
bool fits(const Tensor& output, std::int64_t channels) {
  return output.dim() == 4 && output.size(0) == 1 && output.size(1) == channels;
}

// The last output of the named module, checked against the classifier.
Tensor named_features(nn::Module& model, const Tensor& input, const std::string& name, const Classifier& classifier,
                      std::int64_t class_index) {
  Tensor maps;
  detail::ScopedHooks hooks;
  hooks.add(*detail::find_module("cam", model, name),
            [&maps](nn::Module&, const Tensor&, const Tensor& output) { maps = output; });
  detail::class_score("cam", model(input), class_index);  // checks class_index against the model's output
  if (!maps.defined()) fail<ValueError>("cam: the features module \"{}\" was not called by the model's forward", name);
  if (!fits(maps, classifier.linear->in_features))
    fail<ValueError>(
        "cam: the features module \"{}\" outputs shape {}, not the [1, {}, h, w] maps that the "
        "classifier \"{}\" expects",
        name, str(maps.shape()), classifier.linear->in_features, classifier.name);
  return maps;
}

// The output of the last module called whose output fits the classifier,
// preferring maps of more than one pixel (global pooling leaves one).
Tensor found_features(nn::Module& model, const Tensor& input, const Classifier& classifier, std::int64_t class_index) {
  Tensor last_fitting, last_spatial;
  const std::int64_t channels = classifier.linear->in_features;
  detail::ScopedHooks hooks;
  for (auto& [name, module] : model.named_modules())
    if (!name.empty())
      hooks.add(*module, [&, channels](nn::Module&, const Tensor&, const Tensor& output) {
        if (!fits(output, channels)) return;
        last_fitting = output;
        if (output.size(2) * output.size(3) > 1) last_spatial = output;
      });
  detail::class_score("cam", model(input), class_index);  // checks class_index against the model's output
  if (!last_fitting.defined())
    fail<ValueError>(
        "cam: no module of the model outputs [1, {}, h, w] maps for the classifier \"{}\"; name the "
        "features module in CamOptions::features",
        channels, classifier.name);
  return last_spatial.defined() ? last_spatial : last_fitting;
}

}  // namespace

Tensor cam(nn::Module& model, const Tensor& input, std::int64_t class_index, const CamOptions& options) {
  detail::check_arguments("cam", input, class_index);
  const Classifier classifier = find_classifier(model, options.classifier);
  const NoGradGuard no_grad;
  const Tensor maps = options.features.empty()
                          ? found_features(model, input, classifier, class_index)
                          : named_features(model, input, options.features, classifier, class_index);
  const std::int64_t channels = maps.size(1), height = maps.size(2), width = maps.size(3);
  if (class_index >= classifier.linear->out_features)
    fail<ValueError>("cam: class_index {} is out of range for the classifier \"{}\" of {} classes", class_index,
                     classifier.name, classifier.linear->out_features);
  // sum_k w[class, k] A_k: [1, K] x [K, h * w]
  const Tensor weights = classifier.linear->weight.select(0, class_index).unsqueeze(0);
  const Tensor map = matmul(weights, maps.reshape({channels, height * width})).reshape({height, width});
  return detail::fit_to_input(map, input);
}

}  // namespace xgrad::saliency
