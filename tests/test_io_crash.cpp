// Crash-safe saves: a child process saving a ~50 MB checkpoint in a loop is killed
// with SIGKILL at random moments; after every kill the file on disk is a complete
// checkpoint (the previous one or the new one) and the killed writer's temporary
// file is cleaned up by the next save.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "support.hpp"
#include "xgrad/io.hpp"
#include "xgrad/parallel.hpp"

using namespace xgrad;
using namespace xgrad::testing;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kElements = 13'000'000;  // 52 MB of f32 (a ResNet-18 is 47 MB)
#ifdef __SANITIZE_ADDRESS__
constexpr int kKills = 10;  // the sanitizer suite checks the same code for memory errors; the plain suite kills 50 times
#else
constexpr int kKills = 50;
#endif

Checkpoint checkpoint_of_epoch(std::int64_t epoch) {
  Checkpoint c;
  c.model = {{"weight", full({kElements}, static_cast<double>(epoch))}};
  c.optimizer = {{"step", full({1}, static_cast<double>(epoch), {.dtype = i64})}};
  c.epoch = epoch;
  return c;
}

// The file holds a whole checkpoint whose every value is its epoch.
std::int64_t verified_epoch(const std::string& path) {
  const Checkpoint c = load_checkpoint(path);
  REQUIRE(c.model.size() == 1);
  const Tensor& w = c.model[0].second;
  REQUIRE(w.numel() == kElements);
  const float* v = w.data<float>();
  const auto expected = static_cast<float>(c.epoch);
  for (std::int64_t i = 0; i < kElements; ++i)
    if (v[i] != expected) FAIL("element " << i << " is " << v[i] << " in a checkpoint of epoch " << c.epoch);
  REQUIRE(c.optimizer.at(0).second.to_vector<std::int64_t>() == std::vector<std::int64_t>{c.epoch});
  return c.epoch;
}

std::size_t temporaries_of(const fs::path& target) {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator(target.parent_path()))
    n += entry.path().filename().string().starts_with(target.filename().string() + ".tmp-");
  return n;
}

}  // namespace

TEST_CASE("a checkpoint save killed at random moments leaves a complete checkpoint", "[io][crash]") {
  ThreadCountGuard threads;
  set_num_threads(1);  // the forked child has only the forking thread
  const fs::path path = process_scratch_dir("xgrad_test_io_crash") / "model.ckpt";
  const auto start = std::chrono::steady_clock::now();
  save_checkpoint(checkpoint_of_epoch(0), path.string());
  const auto save_time = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);

  // Kills at random moments, scaled to the disk's speed: every other one within the
  // first half of the child's first save, the others between 1.5 and 3 saves in (after
  // one save completed, most likely in the middle of the next).
  std::mt19937 rng(20261202);
  std::uniform_int_distribution<std::int64_t> early_us(0, save_time.count() / 2);
  std::uniform_int_distribution<std::int64_t> late_us(3 * save_time.count() / 2, 3 * save_time.count());
  std::int64_t epoch = 0;
  int advanced = 0, kills = 0;
  for (; kills < kKills; ++kills) {
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // saves until killed; a failed save exits with 3 (then the REQUIRE below fails)
      try {
        for (std::int64_t e = epoch + 1;; ++e) save_checkpoint(checkpoint_of_epoch(e), path.string());
      } catch (...) {
        ::_exit(3);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(kills % 2 == 0 ? early_us(rng) : late_us(rng)));
    REQUIRE(::kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    const std::int64_t found = verified_epoch(path.string());
    REQUIRE(found >= epoch);  // never an older file, never a partial one
    advanced += found > epoch;
    epoch = found;
    CHECK(temporaries_of(path) <= 1);  // the killed save's, if it was killed in the middle
  }
  INFO("kills " << kills << ", saves completed before a kill " << advanced << ", last epoch " << epoch);
  CHECK(advanced > 0);          // some kills came after a save finished...
  CHECK(advanced < kills);      // ...and some in the middle of one
  save_checkpoint(checkpoint_of_epoch(epoch + 1), path.string());
  CHECK(temporaries_of(path) == 0);  // the next save removed what the killed writers left
  CHECK(verified_epoch(path.string()) == epoch + 1);
}
