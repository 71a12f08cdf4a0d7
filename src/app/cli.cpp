#include "app/cli.hpp"

#include <string_view>

#include "app/config.hpp"

namespace sb::app {
namespace {

// Accepts "--name VALUE" and "--name=VALUE"; advances i past what it consumed.
// Returns false (with error set) when the option is `name` but its value is missing.
bool take_value(std::string_view arg, std::string_view name, int argc, char** argv, int& i,
                std::optional<std::string>& value, std::string& error) {
  if (arg == name) {
    if (i + 1 >= argc) {
      error = "option " + std::string(name) + " needs a value";
      return false;
    }
    value = argv[++i];
    return true;
  }
  if (arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=') {
    value = std::string(arg.substr(name.size() + 1));
    return true;
  }
  return true;  // not this option
}

}  // namespace

std::optional<CliOptions> parse_cli(int argc, char** argv, std::string& error) {
  CliOptions o;
  bool help = false, version = false, check = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::optional<std::string> v;
    if (arg == "--help" || arg == "-h") {
      help = true;
      continue;
    }
    if (arg == "--version") {
      version = true;
      continue;
    }
    if (!take_value(arg, "--config", argc, argv, i, v, error)) return std::nullopt;
    if (v) {
      if (v->empty()) {
        error = "option --config needs a file name";
        return std::nullopt;
      }
      o.config = *v;
      continue;
    }
    if (!take_value(arg, "--check-config", argc, argv, i, v, error)) return std::nullopt;
    if (v) {
      if (v->empty()) {
        error = "option --check-config needs a file name";
        return std::nullopt;
      }
      o.config = *v;
      check = true;
      continue;
    }
    if (!take_value(arg, "--log-level", argc, argv, i, v, error)) return std::nullopt;
    if (v) {
      if (!valid_log_level(*v)) {
        error = "unknown log level '" + *v + "' (expected one of " + log_levels_text() + ")";
        return std::nullopt;
      }
      o.log_level = *v;
      continue;
    }
    if (!arg.empty() && arg.front() == '-') error = "unknown option '" + std::string(arg) + "'";
    else error = "unexpected argument '" + std::string(arg) + "' (did you mean --config " + std::string(arg) + "?)";
    return std::nullopt;
  }
  // --help and --version answer whatever else is given, like most tools.
  if (help) o.mode = CliOptions::Help;
  else if (version) o.mode = CliOptions::Version;
  else if (check) o.mode = CliOptions::CheckConfig;
  return o;
}

std::string usage_text() {
  return "usage: switchboard [--config FILE] [--log-level LEVEL]\n"
         "       switchboard --check-config FILE\n"
         "       switchboard --version | --help\n"
         "\n"
         "  --config FILE         run with this configuration (default ./switchboard.toml)\n"
         "  --check-config FILE   validate the configuration, print each problem as\n"
         "                        FILE:LINE:COL: text; exit 0 if valid, 2 if not\n"
         "  --log-level LEVEL     override [log] level: " +
         log_levels_text() +
         "\n"
         "  --version             print the version and exit\n"
         "  -h, --help            print this help and exit\n";
}

std::string version_text() { return "switchboard " SB_VERSION; }

}  // namespace sb::app
