#pragma once
// The one error type for failures of the outside world (HTTP, Prometheus, control plane, state store),
// and Result<T>, a value-or-error returned across module edges (STYLE.md rule 5).
#include <string>
#include <utility>
#include <variant>

namespace meshmove::planner {

enum class ErrorKind {
  Unavailable,   // connection refused/reset, timeout, 429, 5xx: retryable
  Rejected,      // the peer refused the request (4xx other than 429): not retryable
  NotFound,      // 404 or a missing key: not retryable
  Conflict,      // someone else owns or changed the object (ownership, drift, lock): not retryable
  Invalid,       // the peer answered something we cannot use (malformed body): not retryable
  Config,        // our own configuration is wrong (missing file, bad URL): not retryable
  Interrupted,   // stopped by a signal
  Locked,        // another runner holds the migration's lock
};

struct Error {
  ErrorKind kind = ErrorKind::Invalid;
  std::string message;  // complete, human-readable, secrets already redacted
  int http_status = 0;  // 0 when no HTTP response was received

  [[nodiscard]] bool retryable() const { return kind == ErrorKind::Unavailable; }
};

inline Error make_error(ErrorKind kind, std::string message, int http_status = 0) {
  return Error{kind, std::move(message), http_status};
}

// Holds either a T or an Error. Access to the wrong alternative throws std::bad_variant_access,
// which is a programming error (callers test ok() first).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(m_v); }
  const T& value() const& { return std::get<0>(m_v); }
  // On a temporary Result the value is moved out (not referenced), so that
  // `for (auto& x : *f())` cannot dangle.
  T value() && { return std::get<0>(std::move(m_v)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::get<0>(std::move(m_v)); }
  [[nodiscard]] const Error& error() const { return std::get<1>(m_v); }

 private:
  std::variant<T, Error> m_v;
};

struct Ok {};  // Result<Ok> for operations that return nothing but may fail.
using Status = Result<Ok>;
inline Status ok_status() { return Ok{}; }

}  // namespace meshmove::planner
