#pragma once
/// \file optim.hpp
/// Optimisers (SGD, Adam, AdamW), learning-rate schedulers and gradient clipping.

#include "xgrad/optim/adam.hpp"
#include "xgrad/optim/clip.hpp"
#include "xgrad/optim/optimizer.hpp"
#include "xgrad/optim/scheduler.hpp"
#include "xgrad/optim/sgd.hpp"
