// A job in which rank 1 fails while rank 0 waits for it in a collective; run
// under mpiexec by tests/distributed_fault.cmake, which expects the whole job to
// end quickly, non-zero, with rank 1's message.
//
//   distributed_fault throw   # rank 1: an uncaught xgrad::Error (the terminate handler aborts)
//   distributed_fault abort   # rank 1: catches it and calls distributed::abort
//   distributed_fault leave   # rank 1: returns from main; finalize's barrier times out

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "xgrad/xgrad.hpp"

namespace dist = xgrad::distributed;

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "throw";
  dist::init();
  xgrad::Tensor t = xgrad::ones({1000});
  dist::all_reduce(t);  // everyone is here
  if (dist::rank() == 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // rank 0 is waiting by now
    if (mode == "throw") throw xgrad::ValueError("rank 1's batch was bad");
    if (mode == "abort") {
      try {
        throw xgrad::ValueError("rank 1's batch was bad");
      } catch (const xgrad::Error& e) {
        dist::abort(e.what(), 3);
      }
    }
    std::fprintf(stderr, "rank 1 leaves without a word\n");
    return 1;
  }
  dist::all_reduce(t);  // rank 1 never comes
  std::fprintf(stderr, "rank 0 was not stopped\n");
  return 0;
}
