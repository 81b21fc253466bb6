#pragma once
// Name rules of Kuma, Kubernetes and Prometheus that meshsim enforces or applies, with their wording.
#include <string>
#include <string_view>
#include <vector>

namespace meshmove::sim {

// Kuma's message for a resource name that is not an RFC 1123 subdomain
// (pkg/core/resources/apis/mesh/meta_validator.go).
inline constexpr std::string_view k_rfc1123_message =
    "invalid characters. A lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character";

// [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*, at most 253 characters.
bool is_rfc1123_subdomain(std::string_view name);

// Kuma tag values: ^[a-zA-Z0-9.\-_:]*$ ; tag names: ^[a-zA-Z0-9.\-_:/]*$ (mesh validators.go).
bool is_tag_value(std::string_view value);
bool is_tag_name(std::string_view name);
// Selector values additionally allow '/' and the wildcard "*".
bool is_selector_value(std::string_view value);
// Kuma resource-reference names: ^[0-9a-z.\-_]*$.
bool is_reference_name(std::string_view name);

// Kubernetes label rules as Kuma's API applies them to `labels` (validation.IsQualifiedName and
// IsValidLabelValue): the problems found, in Kubernetes' wording; empty when the key/value is fine.
std::vector<std::string> label_key_problems(std::string_view key);
std::vector<std::string> label_value_problems(std::string_view value);

// A Prometheus label name for a tag: every character outside [a-zA-Z0-9_] becomes '_' (Kuma's MADS uses
// prometheus strutil.SanitizeLabelName), a leading digit gets a '_' prefix.
std::string sanitize_label_name(std::string_view tag);

// Escapes a label value for the Prometheus text format: backslash, double quote and newline.
std::string escape_label_value(std::string_view value);

// JSON-style quoting used in Kuma field paths for map keys: labels["kuma.io/x"].
std::string quoted_key(std::string_view key);

}  // namespace meshmove::sim
