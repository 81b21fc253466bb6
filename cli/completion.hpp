#pragma once
// Shell completion scripts, generated from the command definitions (app.cpp extracts them from CLI11),
// so that they cannot go stale.
#include <string>
#include <vector>

namespace meshmove::cli {

struct OptionSpec {
  std::vector<std::string> names;    // "-o", "--output"
  std::string description;
  bool takes_value = false;
  std::vector<std::string> choices;  // when the value is one of a few words ("text", "json")
};

struct CommandSpec {
  std::string name;  // empty for the top level
  std::string description;
  std::vector<OptionSpec> options;
  bool takes_plans = false;  // positional plan files
  std::vector<std::string> words;  // positional words to offer instead of files (e.g. bash zsh)
};

// The bash script (for /usr/share/bash-completion/completions/meshmove or `source <(meshmove completion bash)`).
std::string bash_completion(const CommandSpec& top, const std::vector<CommandSpec>& commands);
// The zsh script (for a directory in $fpath, as _meshmove).
std::string zsh_completion(const CommandSpec& top, const std::vector<CommandSpec>& commands);

}  // namespace meshmove::cli
