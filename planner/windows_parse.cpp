// Parsing of windows entries and time zone names (declared in windows.hpp).
#include "planner/windows.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <utility>

#include <date/tz.h>

namespace meshmove::planner {
namespace {

using LocalMinutes = date::local_time<std::chrono::minutes>;

constexpr std::string_view k_allow_form =
    "expected DAYS HH:MM-HH:MM[,HH:MM-HH:MM...], e.g. \"Mon-Fri 09:00-17:00\", \"Sat,Sun 10:00-14:00\" "
    "or \"* 22:00-02:00\"";
constexpr std::string_view k_freeze_form =
    "expected YYYY-MM-DD, YYYY-MM-DD/YYYY-MM-DD (whole days, inclusive) or "
    "YYYY-MM-DDTHH:MM/YYYY-MM-DDTHH:MM (end exclusive), e.g. \"2026-12-20/2027-01-04\"";

struct DayName {
  std::string_view short_name;
  std::string_view long_name;
  unsigned c_encoding;
};
constexpr std::array<DayName, 7> k_day_names{{{"mon", "monday", 1},
                                              {"tue", "tuesday", 2},
                                              {"wed", "wednesday", 3},
                                              {"thu", "thursday", 4},
                                              {"fri", "friday", 5},
                                              {"sat", "saturday", 6},
                                              {"sun", "sunday", 0}}};

constexpr std::array<std::string_view, 12> k_month_names{"January",   "February", "March",    "April",
                                                         "May",       "June",     "July",     "August",
                                                         "September", "October",  "November", "December"};

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::optional<unsigned> day_from_name(std::string_view word) {
  for (const auto& d : k_day_names) {
    if (iequals(word, d.short_name) || iequals(word, d.long_name)) return d.c_encoding;
  }
  return std::nullopt;
}

// Reads a string left to right; offsets stay those of the original entry.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : m_text(text) {
    const auto last = text.find_last_not_of(" \t");
    m_end = last == std::string_view::npos ? 0 : last + 1;
    skip_blanks();
  }
  [[nodiscard]] bool at_end() const { return m_pos >= m_end; }
  [[nodiscard]] char peek() const { return at_end() ? '\0' : m_text[m_pos]; }
  [[nodiscard]] std::size_t pos() const { return m_pos; }
  [[nodiscard]] std::string_view rest() const { return m_text.substr(m_pos, m_end - m_pos); }
  void advance() { ++m_pos; }
  void skip_blanks() {
    while (!at_end() && is_blank(m_text[m_pos])) ++m_pos;
  }
  // Consumes a comma after optional blanks; otherwise leaves the position unchanged.
  bool take_comma() {
    std::size_t p = m_pos;
    while (p < m_end && is_blank(m_text[p])) ++p;
    if (p < m_end && m_text[p] == ',') {
      m_pos = p + 1;
      skip_blanks();
      return true;
    }
    return false;
  }
  std::string_view take_letters() {
    const std::size_t start = m_pos;
    while (!at_end() && is_alpha(m_text[m_pos])) ++m_pos;
    return m_text.substr(start, m_pos - start);
  }
  // Reads between min and max digits; nullopt (position unchanged) when fewer than min are present.
  std::optional<int> take_number(std::size_t min_digits, std::size_t max_digits) {
    std::size_t p = m_pos;
    int value = 0;
    while (p < m_end && p - m_pos < max_digits && is_digit(m_text[p]))
      value = value * 10 + (m_text[p++] - '0');
    if (p - m_pos < min_digits) return std::nullopt;
    m_pos = p;
    return value;
  }

 private:
  std::string_view m_text;
  std::size_t m_pos = 0;
  std::size_t m_end = 0;
};

// Describes the character at the cursor for messages: "'x'" or "the end".
std::string describe_next(const Cursor& c) {
  if (c.at_end()) return "the end of the entry";
  return "\"" + std::string(c.rest().substr(0, 12)) + "\"";
}

bool fail(ParseError* error, std::size_t offset, std::string what, std::string_view form) {
  if (error != nullptr) {
    error->offset = offset;
    error->message = std::move(what);
    error->message += "; ";
    error->message += form;
  }
  return false;
}

std::string two_digits(int v) {
  std::string s = std::to_string(v);
  return s.size() < 2 ? "0" + s : s;
}

// ---- allow ----------------------------------------------------------------------------------------------

bool parse_day_item(Cursor& c, std::bitset<7>& days, ParseError* error) {
  const std::size_t start = c.pos();
  if (c.peek() == '*') {
    c.advance();
    days.set();
    return true;
  }
  const std::string_view word = c.take_letters();
  if (word.empty()) {
    if (c.at_end()) return fail(error, start, "missing the days", k_allow_form);
    if (is_digit(c.peek())) {
      return fail(error, start, "missing the days before the time range (use * for every day)", k_allow_form);
    }
    return fail(error, start, "expected a day name, found " + describe_next(c), k_allow_form);
  }
  if (iequals(word, "daily")) {
    days.set();
    return true;
  }
  const auto unknown_day = [&](std::size_t offset, std::string_view w) {
    return fail(error, offset,
                "unknown day \"" + std::string(w) +
                    "\" (days are Mon Tue Wed Thu Fri Sat Sun, ranges like Mon-Fri, or * for every day)",
                k_allow_form);
  };
  const auto first = day_from_name(word);
  if (!first) return unknown_day(start, word);
  if (c.peek() != '-') {
    days.set(*first);
    return true;
  }
  c.advance();
  const std::size_t second_start = c.pos();
  const std::string_view second_word = c.take_letters();
  if (second_word.empty()) {
    return fail(error, second_start, "expected a day after \"" + std::string(word) + "-\"", k_allow_form);
  }
  const auto last = day_from_name(second_word);
  if (!last) return unknown_day(second_start, second_word);
  for (unsigned d = *first;; d = (d + 1) % 7) {  // Fri-Mon wraps over the weekend
    days.set(d);
    if (d == *last) break;
  }
  return true;
}

// HH:MM (the hour may have one digit). `as_end`: 24:00 is accepted.
bool parse_time_of_day(Cursor& c, bool as_end, std::chrono::minutes& out, ParseError* error) {
  const std::size_t start = c.pos();
  const auto hour = c.take_number(1, 2);
  if (!hour) {
    return fail(error, start,
                std::string(as_end ? "expected the end time HH:MM" : "expected a start time HH:MM") +
                    ", found " + describe_next(c),
                k_allow_form);
  }
  if (c.peek() != ':') {
    return fail(error, c.pos(), "expected ':' between hours and minutes, found " + describe_next(c),
                k_allow_form);
  }
  c.advance();
  const std::size_t minute_pos = c.pos();
  const auto minute = c.take_number(2, 2);
  if (!minute) {
    return fail(error, minute_pos, "expected two digits of minutes, found " + describe_next(c), k_allow_form);
  }
  if (*minute > 59) {
    return fail(error, minute_pos, "minute " + two_digits(*minute) + " is out of range (00-59)",
                k_allow_form);
  }
  if (*hour == 24 && *minute == 0) {
    if (!as_end) return fail(error, start, "24:00 can only end a time range", k_allow_form);
  } else if (*hour > 23) {
    return fail(error, start,
                "hour " + two_digits(*hour) + " is out of range (00-23, or 24:00 as the end of a range)",
                k_allow_form);
  }
  out = std::chrono::hours{*hour} + std::chrono::minutes{*minute};
  return true;
}

bool parse_time_range(Cursor& c, LocalTimeRange& out, ParseError* error) {
  const std::size_t start = c.pos();
  if (!parse_time_of_day(c, false, out.start, error)) return false;
  if (c.peek() != '-') {
    if (c.at_end()) return fail(error, c.pos(), "missing the end of the time range (-HH:MM)", k_allow_form);
    return fail(error, c.pos(), "expected '-' between start and end time, found " + describe_next(c),
                k_allow_form);
  }
  c.advance();
  if (!parse_time_of_day(c, true, out.end, error)) return false;
  if (out.end == out.start) {
    return fail(error, start,
                "empty time range: the start equals the end (for a whole day write 00:00-24:00)",
                k_allow_form);
  }
  return true;
}

// ---- freeze ---------------------------------------------------------------------------------------------

struct LocalPoint {
  date::local_days day;
  std::optional<std::chrono::minutes> time;  // nullopt: a plain date
  std::size_t offset = 0;
};

std::string format_date(date::year_month_day ymd) {
  const int y = static_cast<int>(ymd.year());
  std::string ys = std::to_string(y);
  while (ys.size() < 4) ys.insert(ys.begin(), '0');
  return ys + "-" + two_digits(static_cast<int>(static_cast<unsigned>(ymd.month()))) + "-" +
         two_digits(static_cast<int>(static_cast<unsigned>(ymd.day())));
}

bool expect_char(Cursor& c, char ch, std::string_view what, ParseError* error) {
  if (c.peek() == ch) {
    c.advance();
    return true;
  }
  return fail(error, c.pos(), std::string("expected ") + std::string(what) + ", found " + describe_next(c),
              k_freeze_form);
}

bool parse_local_point(Cursor& c, LocalPoint& out, ParseError* error) {
  out.offset = c.pos();
  const auto year = c.take_number(4, 4);
  if (!year)
    return fail(error, c.pos(), "expected a date YYYY-MM-DD, found " + describe_next(c), k_freeze_form);
  if (!expect_char(c, '-', "'-' after the year", error)) return false;
  const std::size_t month_pos = c.pos();
  const auto month = c.take_number(2, 2);
  if (!month)
    return fail(error, c.pos(), "expected a two-digit month, found " + describe_next(c), k_freeze_form);
  if (!expect_char(c, '-', "'-' after the month", error)) return false;
  const std::size_t day_pos = c.pos();
  const auto day = c.take_number(2, 2);
  if (!day) return fail(error, c.pos(), "expected a two-digit day, found " + describe_next(c), k_freeze_form);
  if (*month < 1 || *month > 12) {
    return fail(error, month_pos, "month " + two_digits(*month) + " is out of range (01-12)", k_freeze_form);
  }
  const date::year_month_day ymd{date::year{*year}, date::month{static_cast<unsigned>(*month)},
                                 date::day{static_cast<unsigned>(*day)}};
  if (!ymd.ok()) {
    const date::year_month_day_last last{ymd.year(), date::month_day_last{ymd.month()}};
    return fail(
        error, day_pos,
        std::to_string(*year) + "-" + two_digits(*month) + "-" + two_digits(*day) + " is not a valid date (" +
            std::string(k_month_names[static_cast<std::size_t>(*month - 1)]) + " " + std::to_string(*year) +
            " has " + std::to_string(static_cast<unsigned>(last.day())) + " days)",
        k_freeze_form);
  }
  out.day = date::local_days{ymd};
  out.time.reset();
  if (c.peek() != 'T' && c.peek() != 't') return true;
  c.advance();
  const std::size_t time_pos = c.pos();
  const auto hour = c.take_number(2, 2);
  if (!hour)
    return fail(error, c.pos(), "expected a time HH:MM after 'T', found " + describe_next(c), k_freeze_form);
  if (!expect_char(c, ':', "':' between hours and minutes", error)) return false;
  const std::size_t minute_pos = c.pos();
  const auto minute = c.take_number(2, 2);
  if (!minute) {
    return fail(error, c.pos(), "expected two digits of minutes, found " + describe_next(c), k_freeze_form);
  }
  if (*hour > 23) {
    return fail(error, time_pos, "hour " + two_digits(*hour) + " is out of range (00-23)", k_freeze_form);
  }
  if (*minute > 59) {
    return fail(error, minute_pos, "minute " + two_digits(*minute) + " is out of range (00-59)",
                k_freeze_form);
  }
  out.time = std::chrono::hours{*hour} + std::chrono::minutes{*minute};
  return true;
}

std::string describe_point(const LocalPoint& p) {
  std::string s = format_date(date::year_month_day{p.day});
  if (p.time) {
    const auto total = static_cast<int>(p.time->count());
    s += "T" + two_digits(total / 60) + ":" + two_digits(total % 60);
  }
  return s;
}

// ---- time zone names ----------------------------------------------------------------------------------

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = ch == ' ' ? '_' : lower(ch);
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0U : 1U)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string_view last_component(std::string_view name) {
  const auto slash = name.rfind('/');
  return slash == std::string_view::npos ? name : name.substr(slash + 1);
}

}  // namespace

std::optional<AllowWindow> parse_allow_window(std::string_view text, ParseError* error) {
  Cursor c(text);
  if (c.at_end()) {
    fail(error, c.pos(), "empty allow entry", k_allow_form);
    return std::nullopt;
  }
  AllowWindow window;
  do {
    if (!parse_day_item(c, window.days, error)) return std::nullopt;
  } while (c.take_comma());
  if (c.at_end()) {
    fail(error, c.pos(), "missing the time range after the days", k_allow_form);
    return std::nullopt;
  }
  if (!is_blank(c.peek())) {
    fail(error, c.pos(),
         is_digit(c.peek()) ? std::string("expected a space between the days and the time range")
                            : "unexpected " + describe_next(c) + " in the days",
         k_allow_form);
    return std::nullopt;
  }
  c.skip_blanks();
  do {
    LocalTimeRange range;
    if (!parse_time_range(c, range, error)) return std::nullopt;
    window.ranges.push_back(range);
  } while (c.take_comma());
  c.skip_blanks();
  if (!c.at_end()) {
    fail(
        error, c.pos(),
        "unexpected " + describe_next(c) + " after the time ranges (write each set of days as its own entry)",
        k_allow_form);
    return std::nullopt;
  }
  return window;
}

std::optional<FreezeRange> parse_freeze_range(std::string_view text, ParseError* error) {
  Cursor c(text);
  if (c.at_end()) {
    fail(error, c.pos(), "empty freeze entry", k_freeze_form);
    return std::nullopt;
  }
  LocalPoint first;
  if (!parse_local_point(c, first, error)) return std::nullopt;
  c.skip_blanks();
  const LocalMinutes first_instant = first.day + first.time.value_or(std::chrono::minutes{0});
  if (c.at_end()) {
    if (first.time) {
      fail(error, c.pos(), "a date-time needs an end (/YYYY-MM-DDTHH:MM)", k_freeze_form);
      return std::nullopt;
    }
    return FreezeRange{first_instant, first.day + date::days{1}};
  }
  if (c.peek() != '/') {
    fail(error, c.pos(), "expected '/' or the end of the entry, found " + describe_next(c), k_freeze_form);
    return std::nullopt;
  }
  c.advance();
  c.skip_blanks();
  LocalPoint second;
  if (!parse_local_point(c, second, error)) return std::nullopt;
  c.skip_blanks();
  if (!c.at_end()) {
    fail(error, c.pos(), "unexpected " + describe_next(c) + " after the end", k_freeze_form);
    return std::nullopt;
  }
  // A plain end date includes its whole day.
  const LocalMinutes second_instant = second.time ? second.day + *second.time : second.day + date::days{1};
  if (second_instant <= first_instant) {
    fail(error, second.offset,
         "the end " + describe_point(second) + " is " + (second.time ? "not after" : "before") +
             " the start " + describe_point(first),
         k_freeze_form);
    return std::nullopt;
  }
  return FreezeRange{first_instant, second_instant};
}

bool is_valid_timezone(const std::string& name) {
  try {
    return date::locate_zone(name) != nullptr;
  } catch (const std::exception&) {
    return false;
  }
}

std::optional<std::string> suggest_timezone(const std::string& name) {
  if (name.empty()) return std::nullopt;
  const date::tzdb* db = nullptr;
  try {
    db = &date::get_tzdb();
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const std::string wanted = ascii_lower(name);
  const std::string wanted_last = std::string(last_component(wanted));
  std::optional<std::string> by_last;
  std::size_t by_last_count = 0;
  std::optional<std::string> closest;
  std::size_t closest_distance = 3;  // only suggest spellings within two edits
  bool closest_unique = false;
  for (const auto& zone : db->zones) {
    // "localtime" is whatever the runner host's /etc/localtime is: never a fix to suggest.
    if (zone.name() == "localtime") continue;
    const std::string candidate = ascii_lower(zone.name());
    if (candidate == wanted) return zone.name();
    if (ascii_lower(last_component(zone.name())) == wanted_last) {
      by_last = zone.name();
      ++by_last_count;
    }
    const std::size_t d = edit_distance(candidate, wanted);
    if (d < closest_distance) {
      closest_distance = d;
      closest = zone.name();
      closest_unique = true;
    } else if (d == closest_distance) {
      closest_unique = false;
    }
  }
  if (by_last_count == 1) return by_last;
  if (closest && closest_unique) return closest;
  return std::nullopt;
}

}  // namespace meshmove::planner
