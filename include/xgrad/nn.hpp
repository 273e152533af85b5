#pragma once
/// \file nn.hpp
/// Modules and layers: everything in xgrad::nn in one include.

#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/basic.hpp"
#include "xgrad/nn/conv.hpp"
#include "xgrad/nn/dropout.hpp"
#include "xgrad/nn/init.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/nn/loss.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/nn/normalization.hpp"
#include "xgrad/nn/pooling.hpp"
#include "xgrad/nn/sequential.hpp"
#include "xgrad/nn/summary.hpp"
#include "xgrad/nn/upsample.hpp"
