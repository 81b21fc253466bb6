#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace meshmove::planner {

// Renders a JSON document as block YAML, the way kumactl shows policies: at the top level `type`,
// `mesh`, `name`, `labels` and `spec` come first; elsewhere keys are sorted. Strings that would read as
// another type are quoted.
std::string to_yaml(const nlohmann::json& document);

}  // namespace meshmove::planner
