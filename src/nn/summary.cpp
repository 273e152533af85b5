#include "xgrad/nn/summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>
#include <ostream>
#include <set>
#include <utility>
#include <vector>

#include "xgrad/autograd.hpp"

namespace xgrad::nn {

namespace {

// ---- recording --------------------------------------------------------------------

struct Row {
  std::string layer;                  // "features.0 (Conv2d)"
  Shape output;
  std::optional<std::int64_t> params;  // on a module's first call only
  std::int64_t macs;
};

std::int64_t count_elements(const std::vector<Tensor>& tensors) {
  std::int64_t n = 0;
  for (const Tensor& t : tensors) n += t.numel();
  return n;
}

std::string label(const std::string& name, const Module& module) {
  return name.empty() ? module.type_name() : name + " (" + module.type_name() + ")";
}

// Hooks every leaf module to append a row per call; on destruction removes the
// hooks and puts every module back in its own mode, also when forward threw.
class Recorder {
 public:
  explicit Recorder(Module& model) {
    std::set<const Module*> seen;  // a module registered under two names is hooked once
    for (auto& [name, module] : model.named_modules()) {
      if (!seen.insert(module.get()).second) continue;
      modes_.emplace_back(module, module->is_training());
      if (!module->named_children().empty()) continue;
      const int id = module->register_forward_hook(
          [this, layer = label(name, *module), called = false](Module& m, const Tensor& in, const Tensor& out) mutable {
            rows.push_back({layer, out.shape(), called ? std::nullopt : std::optional(count_elements(m.parameters())),
                            m.macs(in, out)});
            called = true;
          });
      hooks_.emplace_back(module, id);
    }
  }
  ~Recorder() {
    for (auto& [module, id] : hooks_) module->remove_forward_hook(id);
    // Parents come before their children, so each module ends in its own mode.
    for (auto& [module, training] : modes_) module->train(training);
  }
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  std::vector<Row> rows;

 private:
  std::vector<std::pair<std::shared_ptr<Module>, int>> hooks_;
  std::vector<std::pair<std::shared_ptr<Module>, bool>> modes_;
};

// ---- formatting ---------------------------------------------------------------------

// 1234567 -> "1,234,567" (n >= 0)
std::string grouped(std::int64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// 1814083944 -> " (1.81 G)"; "" below a thousand.
std::string scaled(std::int64_t n) {
  constexpr std::array<std::pair<double, const char*>, 4> units{
      {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "K"}}};
  for (const auto& [size, unit] : units)
    if (static_cast<double>(n) >= size) return fmt::format(" ({:.3g} {})", static_cast<double>(n) / size, unit);
  return "";
}

std::string table(const std::vector<Row>& rows) {
  using Cells = std::array<std::string, 4>;
  std::vector<Cells> cells{{"Layer (type)", "Output shape", "Param #", "MACs"}};
  for (const Row& r : rows)
    cells.push_back({r.layer, shape_to_string(r.output), r.params ? grouped(*r.params) : "--", grouped(r.macs)});
  std::array<std::size_t, 4> width{};
  for (const Cells& c : cells)
    for (std::size_t i = 0; i < c.size(); ++i) width[i] = std::max(width[i], c[i].size());
  const std::size_t total = width[0] + width[1] + width[2] + width[3] + 3 * 3;
  auto line = [&](const Cells& c) {
    return fmt::format("{:<{}}   {:<{}}   {:>{}}   {:>{}}\n", c[0], width[0], c[1], width[1], c[2], width[2], c[3],
                       width[3]);
  };
  std::string out = line(cells[0]) + std::string(total, '=') + "\n";
  for (std::size_t i = 1; i < cells.size(); ++i) out += line(cells[i]);
  return out + std::string(total, '=') + "\n";
}

std::string totals(const Module& model, const std::vector<Row>& rows, const Shape& input, const Shape& output) {
  const std::vector<Tensor> params = model.parameters();  // each shared parameter once
  std::int64_t trainable = 0, macs = 0;
  for (const Tensor& p : params)
    if (p.requires_grad()) trainable += p.numel();
  for (const Row& r : rows) macs += r.macs;
  const std::int64_t all = count_elements(params);
  return fmt::format(
      "Total params: {}\nTrainable params: {}\nNon-trainable params: {}\nTotal MACs: {}{}\nInput shape: {}\n"
      "Output shape: {}\n",
      grouped(all), grouped(trainable), grouped(all - trainable), grouped(macs), scaled(macs),
      shape_to_string(input), shape_to_string(output));
}

// Indents every line but the first (torch's _addindent).
std::string indent_inner_lines(const std::string& text, std::size_t spaces) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '\n') out += std::string(spaces, ' ');
  }
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  if (text.empty()) return lines;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(text.substr(start, end - start));
  lines.push_back(text.substr(start));
  return lines;
}

}  // namespace

std::string summary(Module& model, const Shape& input_shape, DType dtype) {
  Shape output_shape;
  Recorder recorder(model);
  {
    NoGradGuard no_grad;
    model.eval();
    output_shape = model(zeros(input_shape, {.dtype = dtype})).shape();
  }
  return table(recorder.rows) + totals(model, recorder.rows, input_shape, output_shape);
}

std::string to_string(const Module& module) {
  std::vector<std::string> lines = split_lines(module.extra_repr());
  const std::size_t extra_lines = lines.size();
  for (const auto& [name, child] : module.named_children())
    lines.push_back("(" + name + "): " + indent_inner_lines(to_string(*child), 2));
  std::string out = module.type_name() + "(";
  if (extra_lines == 1 && lines.size() == 1) {
    out += lines[0];
  } else if (!lines.empty()) {
    out += "\n";
    for (const std::string& line : lines) out += "  " + line + "\n";
  }
  return out + ")";
}

std::ostream& operator<<(std::ostream& os, const Module& module) { return os << to_string(module); }

}  // namespace xgrad::nn
