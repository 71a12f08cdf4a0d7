#include "transports/sms/e164.hpp"

namespace sb::transport::sms {
namespace {
bool digit(char c) { return c >= '0' && c <= '9'; }
bool separator(char c) { return c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')' || c == '\t'; }
}  // namespace

std::optional<std::string> normalise_e164(std::string_view in, std::string_view default_cc) {
  while (!in.empty() && (in.front() == ' ' || in.front() == '\t')) in.remove_prefix(1);
  while (!in.empty() && (in.back() == ' ' || in.back() == '\t')) in.remove_suffix(1);
  if (in.empty() || in.size() > 64) return std::nullopt;
  const bool plus = in.front() == '+';
  if (plus) in.remove_prefix(1);
  std::string digits;
  for (char c : in) {
    if (digit(c)) digits.push_back(c);
    else if (!separator(c)) return std::nullopt;
  }
  if (plus) {
    // already international
  } else if (digits.size() > 2 && digits.compare(0, 2, "00") == 0) {
    digits.erase(0, 2);  // ITU international call prefix
  } else {
    if (default_cc.empty()) return std::nullopt;  // national, and no country to put it in
    if (default_cc == "1" && digits.size() == 11 && digits[0] == '1') {
      // NANP numbers are often written with their country code and no '+'.
    } else {
      if (!digits.empty() && digits[0] == '0') digits.erase(0, 1);  // national trunk prefix
      digits.insert(0, default_cc);
    }
  }
  if (digits.size() < 8 || digits.size() > 15 || digits[0] == '0') return std::nullopt;
  return "+" + digits;
}

bool is_e164(std::string_view s) {
  if (s.size() < 9 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  for (char c : s.substr(1))
    if (!digit(c)) return false;
  return true;
}

bool valid_country_code(std::string_view cc) {
  if (cc.empty() || cc.size() > 3 || cc[0] == '0') return false;
  for (char c : cc)
    if (!digit(c)) return false;
  return true;
}

}  // namespace sb::transport::sms
