#pragma once
#include <string>

namespace meshmove::planner {

// A unified diff ("--- a", "+++ b", "@@ ... @@" hunks with `context` lines around changes) of two
// texts, line by line; empty when they are equal. Meant for small documents (quadratic in lines).
std::string unified_diff(const std::string& before, const std::string& after, const std::string& before_name,
                         const std::string& after_name, int context = 3);

}  // namespace meshmove::planner
