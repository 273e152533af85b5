#pragma once
/// \file ops.hpp
/// The functional ops (differentiable primitives), one header per family.

#include "xgrad/ops/activation.hpp"
#include "xgrad/ops/arithmetic.hpp"
#include "xgrad/ops/conv.hpp"
#include "xgrad/ops/indexing.hpp"
#include "xgrad/ops/linalg.hpp"
#include "xgrad/ops/loss.hpp"
#include "xgrad/ops/math.hpp"
#include "xgrad/ops/normalization.hpp"
#include "xgrad/ops/pooling.hpp"
#include "xgrad/ops/reduction.hpp"
#include "xgrad/ops/shape.hpp"
#include "xgrad/ops/softmax.hpp"
#include "xgrad/ops/upsample.hpp"
