#pragma once
// Internal side of anomaly mode (see <xgrad/anomaly.hpp>): the labels of nodes
// created while it is on, and the check of a node's gradients.

#include <vector>

#include "xgrad/anomaly.hpp"
#include "xgrad/autograd.hpp"

namespace xgrad::autograd::detail {

/// Called by Node's constructor and destructor: remembers (forgets) the labels
/// active when a node was created in anomaly mode.
void note_created(const Node& node);
void note_destroyed(const Node& node);

/// Throws AutogradError when a gradient `node` returned holds NaN or infinity.
/// `received` are the gradients it was given (to say whether they were finite).
void check_anomaly(const Node& node, const std::vector<Tensor>& received, const std::vector<Tensor>& returned);

}  // namespace xgrad::autograd::detail
