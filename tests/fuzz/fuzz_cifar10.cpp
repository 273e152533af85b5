// CIFAR-10 binary batches (the test split: one file, test_batch.bin).

#include "fuzz_support.hpp"
#include "xgrad/data/cifar10.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  xgrad::fuzz::write_input(data, size, "test_batch.bin");
  try {
    const xgrad::data::CIFAR10 set(xgrad::fuzz::scratch_folder().string(), /*train=*/false);
    for (std::int64_t i = 0; i < set.size(); ++i) {
      const auto example = set.get(i);
      xgrad::fuzz::touch(example.input);
      xgrad::fuzz::touch(example.target);
    }
  } catch (const xgrad::Error&) {
  }
  return 0;
}
