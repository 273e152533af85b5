#pragma once
// The command-line rules every example and bench program follows, in one place
// (CLI11, Debian's libcli11-dev):
//
//   --help, -h   every option with its default and a one-line description, on
//                stdout; exit status 0
//   any mistake  (an unknown option, a missing or bad value, a missing input
//                file) what is wrong, naming the option and the value, then
//                "Run with --help for more information." on stderr; exit status 2
//
//   cli::App app{"What the program does."};
//   app.add_option("--epochs", settings.epochs, "epochs to train")->check(cli::positive);
//   cli::parse_or_exit(app, argc, argv);

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdlib>
#include <functional>
#include <string>
#include <system_error>
#include <utility>

namespace cli {

/// CLI11's App, with every option's default shown by --help.
class App : public CLI::App {
 public:
  explicit App(std::string description) : CLI::App(std::move(description)) {
    option_defaults()->always_capture_default();
    get_formatter()->column_width(40);
  }
};

/// Parses the command line into `app`'s options, or exits: 0 after --help, 2 after a mistake.
inline void parse_or_exit(CLI::App& app, int argc, const char* const* argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& help) {  // CLI::CallForHelp, CLI::CallForAllHelp
    app.exit(help);                     // prints the help to stdout
    std::exit(0);
  } catch (const CLI::ParseError& mistake) {
    app.exit(mistake);  // prints the message and "Run with --help for more information." to stderr
    std::exit(2);
  }
}

/// A validator for a number (the whole text, as a double) that satisfies `ok`.
/// CLI::PositiveNumber and CLI::NonNegativeNumber express the same rules, but in
/// CLI11 2.1 their message spells out the range up to DBL_MAX (309 digits).
inline CLI::Validator number_check(std::string name, std::string what, std::function<bool(double)> ok) {
  return CLI::Validator(
      [what, ok](std::string& text) {
        double value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        const bool number = error == std::errc() && end == text.data() + text.size();
        return number && ok(value) ? std::string() : "value " + text + " is not " + what;
      },
      std::move(name));
}

/// > 0
inline const CLI::Validator positive = number_check("POSITIVE", "a positive number", [](double v) { return v > 0; });
/// >= 0
inline const CLI::Validator non_negative =
    number_check("NONNEGATIVE", "a number >= 0", [](double v) { return v >= 0; });

/// --threads N, which most examples take: 0 (the default) keeps xgrad's own choice.
inline CLI::Option* add_threads(CLI::App& app, int& threads) {
  return app.add_option("--threads", threads, "threads (0: xgrad's default)")->check(non_negative);
}

}  // namespace cli
