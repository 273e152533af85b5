#pragma once
/// \file parallel.hpp
/// The number of threads xgrad's kernels use. Defaults to XGRAD_NUM_THREADS when
/// set, else the number of hardware threads. Workers sleep when idle (they never
/// spin), so a busy neighbour process does not stall them; work too small to
/// split runs on the calling thread.

namespace xgrad {

/// Sets the thread count for later ops (1 = everything on the calling thread).
void set_num_threads(int threads);
int get_num_threads();

/// Deterministic algorithms, as `torch.use_deterministic_algorithms`. Results are
/// always bit-identical from run to run at one thread count; with this on they are
/// also bit-identical across thread counts (1, 2, ... threads give the same bits):
/// sums that are split among threads (the convolution weight gradients) are split
/// into a fixed number of parts, as if there were 8 threads, whatever the count.
/// Off by default; XGRAD_DETERMINISTIC=1 turns it on at start. The cost is measured
/// in docs/reliability.md.
void use_deterministic_algorithms(bool enabled);
bool are_deterministic_algorithms_enabled();

}  // namespace xgrad
