#pragma once
/// \file models.hpp
/// The backbone zoo: every model in xgrad::models in one include.
///
///   auto net = xgrad::models::resnet18({.num_classes = 10});
///   Tensor logits = net->forward(images);

#include "xgrad/models/alexnet.hpp"
#include "xgrad/models/densenet.hpp"
#include "xgrad/models/lenet.hpp"
#include "xgrad/models/options.hpp"
#include "xgrad/models/overfeat.hpp"
#include "xgrad/models/resnet.hpp"
#include "xgrad/models/vgg.hpp"
