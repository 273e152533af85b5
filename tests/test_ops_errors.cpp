// Error inputs for every public op (issue "Error inputs for every public op", as
// PyTorch OpInfo's error_inputs). The tables live in test_ops_errors_<family>.cpp,
// each with its own TEST_CASE; this file checks that they are large enough and
// that every case is well formed.

#include <map>
#include <set>

#include "ops_errors_support.hpp"

namespace xgrad::testing::errors {

namespace {

Cases all_cases() {
  Cases all;
  for (Cases (*family)() : {&elementwise_cases, &shape_cases, &conv_cases, &pool_cases, &nn_cases}) {
    Cases part = family();
    all.insert(all.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }
  return all;
}

}  // namespace

TEST_CASE("the error table covers at least 250 well-formed cases", "[errors]") {
  const Cases cases = all_cases();
  CHECK(cases.size() >= 250);
  std::set<std::string> names;
  for (const ErrorCase& c : cases) {
    if (!names.insert(c.name).second) FAIL_CHECK("case name " << c.name << " is used twice");
    if (c.op.empty() || !c.call) FAIL_CHECK("case " << c.name << " has no op or no call");
  }
}

TEST_CASE("the error harness notices every kind of wrong behaviour", "[errors][harness]") {
  const auto check = [](std::function<void()> call, const std::type_info& type, std::vector<std::string> substrings) {
    return check_case({"harness", "op", std::move(call), std::type_index(type), std::move(substrings)});
  };
  CHECK_FALSE(check([] {}, typeid(ShapeError), {}).empty());                                 // nothing thrown
  CHECK_FALSE(check([] { throw ValueError("op: x"); }, typeid(ShapeError), {}).empty());     // another subclass
  CHECK_FALSE(check([] { throw ShapeError("op: x"); }, typeid(Error), {}).empty());          // not exactly Error
  CHECK_FALSE(check([] { throw std::runtime_error("op: x"); }, typeid(Error), {}).empty());  // not an xgrad::Error
  CHECK_FALSE(check([] { throw 1; }, typeid(Error), {}).empty());                            // not an exception
  CHECK_FALSE(check([] { throw ShapeError("other: [2, 3]"); }, typeid(ShapeError), {"[2, 3]"}).empty());  // op name
  CHECK_FALSE(check([] { throw ShapeError("op: [2, 3]"); }, typeid(ShapeError), {"[4]"}).empty());       // value
  CHECK(check([] { throw ShapeError("op: [2, 3]"); }, typeid(ShapeError), {"[2, 3]"}).empty());
}

// Not run by default: `test_ops_errors "[.counts]"` lists the cases per op.
TEST_CASE("error cases per op", "[.counts]") {
  std::map<std::string, int> per_op;
  const Cases cases = all_cases();
  for (const ErrorCase& c : cases) ++per_op[c.op];
  for (const auto& [op, count] : per_op) WARN(op << " " << count);
  WARN("total " << cases.size());
}

}  // namespace xgrad::testing::errors
