#pragma once
// Kuma's error bodies (/std-errors, Kong AIP-193) turned into messages a person can act on.
#include <string>

#include "backends/http_transport.hpp"
#include "planner/error.hpp"
#include "planner/plan.hpp"

namespace meshmove::backends {

// An Error for a non-2xx answer of the Kuma API to `what` ("PUT /meshes/..."): names Kuma's title,
// detail and every invalid field with its reason; 401/403 point at the token, 405 at Kubernetes mode,
// 409 at a concurrent writer.
planner::Error kuma_error(const HttpResponse& response, const std::string& what, const planner::Plan& plan);

}  // namespace meshmove::backends
