// Command line (SPEC §1):
//   switchboard --config FILE          run (default ./switchboard.toml)
//   switchboard --check-config FILE    validate; exit 0 ok, 2 bad
//   switchboard --version | --help
// plus --log-level LEVEL (overrides [log] level). Pure: no I/O, no exit; the caller
// prints `error` with usage_text() and exits 2 when parse_cli returns nullopt.
#pragma once
#include <optional>
#include <string>

namespace sb::app {

struct CliOptions {
  enum Mode { Run, CheckConfig, Version, Help } mode = Run;
  std::string config = "switchboard.toml";
  std::string log_level;  // empty = from the config file
};

std::optional<CliOptions> parse_cli(int argc, char** argv, std::string& error);
std::string usage_text();
std::string version_text();  // "switchboard 0.1.0"

}  // namespace sb::app
