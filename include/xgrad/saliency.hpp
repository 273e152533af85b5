#pragma once
/// \file saliency.hpp
/// What a classifier looks at: class activation maps and gradient views of one
/// image (sections 5 and 6 of the lecture notes).
///
///   model->eval();                                   // the mode is the caller's: use eval()
///   Tensor image = ...;                              // [1, C, H, W], the model's dtype
///   Tensor cam  = xgrad::saliency::cam(*model, image, label);                   // [H, W] in [0, 1]
///   Tensor gc   = xgrad::saliency::grad_cam(*model, "layer3", image, label);    // [H, W] in [0, 1]
///   Tensor gb   = xgrad::saliency::guided_backprop(*model, image, label);       // [1, C, H, W]
///   Tensor view = xgrad::saliency::gradient_image(gb);                          // [C, H, W] in [0, 1]
///
/// Every function runs the model on `input` with grad mode on (whatever the
/// caller's) and leaves the model as it found it: no parameter's .grad()
/// changes, no hook stays registered, requires_grad is restored, also when an
/// exception is thrown. Train/eval mode is not touched: call model.eval() first
/// (batch norm in training mode would use, and update, batch statistics).
///
/// Errors: an input that is not [1, C, H, W] throws ShapeError, a non-floating
/// one DTypeError, a class index outside [0, classes) ValueError; each names the
/// function and the values at fault.

#include <cstdint>
#include <string>

#include "xgrad/nn/module.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::saliency {

/// How relu records its backward while a ReluGradientGuard is alive on this
/// thread (decided when the forward runs, so it covers nn::ReLU modules and
/// functional relu alike):
///   standard:  grad * (x > 0)
///   guided:    max(grad, 0) * (x > 0)   (Springenberg et al. 2015, guided backpropagation)
///   deconvnet: max(grad, 0)             (Zeiler & Fergus 2014: the backward pass of a
///                                        deconvnet rectifies what flows back, whatever x was)
/// Other ops (max pooling's switches, convolutions) keep their gradients.
enum class ReluGradient { standard, guided, deconvnet };

/// Sets the relu rule for this thread while alive; guards nest (the previous
/// rule comes back on destruction).
class ReluGradientGuard {
 public:
  explicit ReluGradientGuard(ReluGradient rule);
  ~ReluGradientGuard();
  ReluGradientGuard(const ReluGradientGuard&) = delete;
  ReluGradientGuard& operator=(const ReluGradientGuard&) = delete;

 private:
  ReluGradient previous_;
};

struct CamOptions {
  /// Module (dotted name) whose output are the last feature maps; "" = the last
  /// module called in the forward whose output is [1, K, h, w] with K the
  /// classifier's in_features and more than one pixel (global pooling leaves one;
  /// if every candidate has one pixel, the last of them).
  std::string features = {};
  /// The final nn::Linear; "" = the last nn::Linear in named_modules().
  std::string classifier = {};
};

/// Class Activation Mapping (Zhou et al. 2016), for networks that end in global
/// average pooling and one linear layer: sum_k w[class, k] A_k over the feature
/// maps A_k (no ReLU, no bias), bilinearly upsampled to [H, W] and min-max
/// normalised to [0, 1] (all zeros if flat).
Tensor cam(nn::Module& model, const Tensor& input, std::int64_t class_index, const CamOptions& options = {});

/// Grad-CAM (Selvaraju et al. 2017) at any layer, by its named_modules() name:
/// relu(sum_k alpha_k A_k) with alpha_k the spatial mean of d score / d A_k,
/// where A is the layer's output (its last one if it runs several times) and
/// the score is the class's logit (before softmax). One forward pass. Upsampled
/// (bilinear) to [H, W] and normalised to [0, 1]. A layer whose output is not
/// [1, K, h, w] throws ValueError naming it and its output's shape; an unknown
/// name throws ValueError listing the valid ones.
Tensor grad_cam(nn::Module& model, const std::string& layer_name, const Tensor& input, std::int64_t class_index);

/// Raw gradients of the class score with respect to the input, shape of the
/// input [1, C, H, W] (signed, not normalised; Simonyan et al. 2014).
Tensor input_gradient(nn::Module& model, const Tensor& input, std::int64_t class_index);
/// input_gradient with ReluGradient::guided: only positive evidence through
/// active units, [1, C, H, W].
Tensor guided_backprop(nn::Module& model, const Tensor& input, std::int64_t class_index);
/// input_gradient with ReluGradient::deconvnet, [1, C, H, W].
Tensor deconvnet(nn::Module& model, const Tensor& input, std::int64_t class_index);

/// guided_backprop * grad_cam (broadcast over channels), [1, C, H, W]: the
/// fine detail of guided backpropagation where Grad-CAM finds the class.
Tensor guided_grad_cam(nn::Module& model, const std::string& layer_name, const Tensor& input, std::int64_t class_index);

/// Display helpers.
/// Min-max to [0, 1], any shape (all zeros if flat).
Tensor normalize(const Tensor& map);
/// Signed gradient [1, C, H, W] or [C, H, W] -> image [C, H, W]: 0.5 + g / (2 max|g|),
/// so zero is mid-grey (all 0.5 for a zero gradient).
Tensor gradient_image(const Tensor& gradient);
/// Gradient [1, C, H, W] or [C, H, W] -> [H, W]: max |g| over the channels
/// (Simonyan et al. 2014), divided by its maximum (all zeros for a zero gradient).
Tensor gradient_magnitude(const Tensor& gradient);

}  // namespace xgrad::saliency
