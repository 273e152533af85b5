#pragma once
/// \file xgrad.hpp
/// Everything in one include. (xtensor interop is separate: <xgrad/xtensor.hpp>.)

#include "xgrad/anomaly.hpp"
#include "xgrad/autograd.hpp"
#include "xgrad/data.hpp"
#include "xgrad/distributed.hpp"
#include "xgrad/dtype.hpp"
#include "xgrad/error.hpp"
#include "xgrad/functional.hpp"
#include "xgrad/gradcheck.hpp"
#include "xgrad/image.hpp"
#include "xgrad/io.hpp"
#include "xgrad/log.hpp"
#include "xgrad/memory.hpp"
#include "xgrad/models.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/parallel.hpp"
#include "xgrad/random.hpp"
#include "xgrad/saliency.hpp"
#include "xgrad/tensor.hpp"
