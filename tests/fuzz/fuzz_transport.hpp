#pragma once
// A fake HttpTransport for the fuzz targets: it answers from the fuzz input instead of the network.
//
// The input is a list of answers separated by a line "--" ("\n--\n"; no valid JSON contains it, so
// splitting loses nothing a server could send). Request i gets answer i modulo their number, so a single
// answer answers every request. An answer starting with three digits and a space or newline ("503 ...")
// has that HTTP status, else 200. Like the real transport (backends/http_transport.hpp), statuses 429
// and 5xx come back as Error Unavailable (retries exhausted) and status 000 as a connection failure;
// every other status is returned with its body. After 32 requests every request fails (Unavailable).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backends/http_transport.hpp"
#include "planner/clock.hpp"

namespace meshmove::fuzz {

struct FuzzAnswer {
  int status = 200;
  std::string body;
};

inline std::vector<FuzzAnswer> split_answers(std::string_view input) {
  std::vector<FuzzAnswer> out;
  constexpr std::string_view separator = "\n--\n";
  while (true) {
    const auto at = input.find(separator);
    std::string_view part = input.substr(0, at);
    FuzzAnswer a;
    if (part.size() >= 4 && part[0] >= '0' && part[0] <= '9' && part[1] >= '0' && part[1] <= '9' &&
        part[2] >= '0' && part[2] <= '9' && (part[3] == ' ' || part[3] == '\n')) {
      a.status = (part[0] - '0') * 100 + (part[1] - '0') * 10 + (part[2] - '0');
      part.remove_prefix(4);
    }
    a.body = std::string(part);
    out.push_back(std::move(a));
    if (at == std::string_view::npos || out.size() >= 64) break;
    input.remove_prefix(at + separator.size());
  }
  return out;
}

class FuzzTransport final : public backends::HttpTransport {
 public:
  // `answers` must outlive the transport; it must not be empty.
  explicit FuzzTransport(const std::vector<FuzzAnswer>& answers) : m_answers(answers) {}

  planner::Result<backends::HttpResponse> send(const backends::HttpRequest& request) override {
    if (request.url.empty()) __builtin_trap();  // every caller sends somewhere
    // A budget per transport keeps each input fast (meshmove's own bounds, such as 100 pages of
    // dataplanes or 64 journal appends, would repeat the same answers); past it the server is gone.
    if (m_sent >= k_budget) {
      return planner::make_error(planner::ErrorKind::Unavailable, request.method + " " + request.url +
                                                                      ": connection refused (fuzz budget spent)");
    }
    const FuzzAnswer& a = m_answers[m_sent++ % m_answers.size()];
    if (a.status == 0) {
      return planner::make_error(planner::ErrorKind::Unavailable, request.method + " " + request.url +
                                                                      ": connection refused (fuzz)");
    }
    if (a.status == 429 || a.status >= 500) {
      return planner::make_error(planner::ErrorKind::Unavailable,
                                 request.method + " " + request.url + " -> HTTP " + std::to_string(a.status) +
                                     " after 1 attempt (fuzz)",
                                 a.status);
    }
    backends::HttpResponse r;
    r.status = a.status;
    r.body = a.body;
    r.headers["content-type"] = "application/json";
    return r;
  }

  [[nodiscard]] std::size_t sent() const { return m_sent; }
  static constexpr std::size_t k_budget = 32;

 private:
  const std::vector<FuzzAnswer>& m_answers;
  std::size_t m_sent = 0;
};

// A clock that stands still and never sleeps.
class FuzzClock final : public planner::Clock {
 public:
  [[nodiscard]] planner::TimePoint now() const override { return planner::TimePoint{planner::Duration{1'764'633'600'000}}; }
  void sleep(planner::Duration) override {}
};

}  // namespace meshmove::fuzz
