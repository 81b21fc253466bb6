#include "planner/yaml_render.hpp"

#include <yaml-cpp/yaml.h>

#include <vector>

namespace meshmove::planner {
namespace {

void emit(YAML::Emitter& out, const nlohmann::json& j, bool top) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    std::vector<std::string> keys;
    if (top) {
      for (const char* k : {"type", "mesh", "name", "labels", "spec"}) {
        if (j.contains(k)) keys.emplace_back(k);
      }
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (std::find(keys.begin(), keys.end(), it.key()) == keys.end()) keys.push_back(it.key());
    }
    for (const auto& k : keys) {
      out << YAML::Key << k << YAML::Value;
      emit(out, j.at(k), false);
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& item : j) emit(out, item, false);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    const std::string s = j.get<std::string>();
    // A string that YAML would read as a number, boolean or null keeps its quotes ("-1", "true").
    const YAML::Node probe = YAML::Load(s.empty() ? "''" : s);
    bool quote = s.empty() || !probe.IsScalar() || probe.Scalar() != s;
    if (!quote) {
      try {
        (void)probe.as<double>();
        quote = true;
      } catch (const YAML::Exception&) {
      }
      for (const char* word : {"true", "false", "null", "yes", "no", "on", "off", "~"}) {
        if (s == word) quote = true;
      }
    }
    if (quote) out << YAML::DoubleQuoted;
    out << s;
  } else if (j.is_boolean()) {
    out << (j.get<bool>() ? "true" : "false");
  } else if (j.is_null()) {
    out << YAML::Null;
  } else {
    out << j.dump();
  }
}

}  // namespace

std::string to_yaml(const nlohmann::json& document) {
  YAML::Emitter out;
  emit(out, document, true);
  return std::string(out.c_str()) + "\n";
}

}  // namespace meshmove::planner
