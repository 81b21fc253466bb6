#pragma once
// Reads what PrometheusClient sends: a field of an application/x-www-form-urlencoded body, decoded.
#include <string>

namespace meshmove::testsupport {

// The value of `name` in `body` ("query=...&time=..."), percent-decoded; "" when absent.
inline std::string form_field(const std::string& body, const std::string& name) {
  std::size_t at = 0;
  while (at < body.size()) {
    const auto end = body.find('&', at);
    const std::string pair = body.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (pair.rfind(name + "=", 0) == 0) {
      std::string out;
      for (std::size_t i = name.size() + 1; i < pair.size(); ++i) {
        if (pair[i] == '%' && i + 2 < pair.size()) {
          out += static_cast<char>(std::stoi(pair.substr(i + 1, 2), nullptr, 16));
          i += 2;
        } else {
          out += pair[i] == '+' ? ' ' : pair[i];
        }
      }
      return out;
    }
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return "";
}

}  // namespace meshmove::testsupport
