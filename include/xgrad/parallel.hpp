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

}  // namespace xgrad
