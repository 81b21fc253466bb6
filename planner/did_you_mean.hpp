#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace meshmove::planner {

// The candidate closest to `word` (case-insensitive, ignoring '_' and '-', edit distance at most
// max(1, size/3)), or an empty string when nothing is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace meshmove::planner
