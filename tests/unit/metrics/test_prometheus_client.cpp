// Reading Prometheus API answers: vectors, scalars, NaN, warnings and error bodies.
#include <doctest/doctest.h>

#include <cmath>

#include "metrics/prometheus_client.hpp"

using meshmove::metrics::parse_query_response;
using meshmove::planner::ErrorKind;

TEST_SUITE("metrics::prometheus_client") {
  TEST_CASE("a vector with labels, and warnings passed on") {
    const auto r = parse_query_response(200, R"({"status":"success","warnings":["query hit the sample limit"],
      "data":{"resultType":"vector","result":[{"metric":{"le":"5"},"value":[1764000000.5,"12"]},
                                               {"metric":{"le":"+Inf"},"value":[1764000000.5,"20.5"]}]}})");
    REQUIRE(r.ok());
    CHECK(r->result_type == "vector");
    REQUIRE(r->samples.size() == 2);
    CHECK(r->samples[0].labels.at("le") == "5");
    CHECK(r->samples[1].value == doctest::Approx(20.5));
    REQUIRE(r->warnings.size() == 1);
  }
  TEST_CASE("scalars, empty vectors and special values") {
    auto r = parse_query_response(200, R"({"status":"success","data":{"resultType":"scalar","result":[1,"0.25"]}})");
    REQUIRE(r.ok());
    CHECK(r->samples.at(0).value == doctest::Approx(0.25));
    r = parse_query_response(200, R"({"status":"success","data":{"resultType":"vector","result":[]}})");
    REQUIRE(r.ok());
    CHECK(r->samples.empty());
    r = parse_query_response(200, R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]},{"metric":{},"value":[1,"+Inf"]}]}})");
    REQUIRE(r.ok());
    CHECK(std::isnan(r->samples[0].value));
    CHECK(std::isinf(r->samples[1].value));
  }
  TEST_CASE("Prometheus error bodies become messages that quote Prometheus") {
    auto r = parse_query_response(400, R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected identifier \"x\""})");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::Rejected);
    CHECK(r.error().message == "Prometheus: bad_data: 1:5: parse error: unexpected identifier \"x\"");
    r = parse_query_response(503, R"({"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"})");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::Unavailable);
    r = parse_query_response(200, R"({"status":"success","data":{"resultType":"matrix","result":[]}})");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("range selector") != std::string::npos);
    r = parse_query_response(200, "<html>proxy error</html>");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::Invalid);
    r = parse_query_response(502, "Bad Gateway");
    CHECK(r.error().kind == ErrorKind::Unavailable);
    r = parse_query_response(200, R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}})");
    CHECK_FALSE(r.ok());
  }
  TEST_CASE("form encoding") {
    CHECK(meshmove::backends::url_encode("sum(x{a=\"b c\"})") == "sum%28x%7Ba%3D%22b%20c%22%7D%29");
  }
}
