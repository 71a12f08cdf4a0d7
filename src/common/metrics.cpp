#include "common/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>

namespace sb {
namespace {

// Prometheus text format 0.0.4: the default latency buckets, 0.5 ms .. 10 s.
const std::vector<double>& default_bounds() {
  static const std::vector<double> b{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                     0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return b;
}

// Shortest round-trip digits in %g style ("0.0005", "1", "2.5", "1e+20"), as the Go
// client prints bucket bounds; plain to_chars would pick "5e-04" for 0.0005.
std::string format_double(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
  if (ec != std::errc{}) return "NaN";
  return std::string(buf, end);
}

// Text format 0.0.4: label values escape backslash, double quote and line feed.
void append_label_value(std::string& out, const std::string& v) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

// HELP text escapes backslash and line feed only.
void append_help(std::string& out, const std::string& v) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

// `{a="x",b="y"}`, with an optional trailing extra label (the histogram's `le`);
// nothing at all when there are no labels.
void append_labels(std::string& out, const Labels& labels, const std::string* le_value = nullptr) {
  if (labels.empty() && !le_value) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    append_label_value(out, v);
    out += '"';
  }
  if (le_value) {
    if (!first) out += ',';
    out += "le=\"";
    out += *le_value;
    out += '"';
  }
  out += '}';
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double seconds) {
  if (std::isnan(seconds)) return;
  if (seconds < 0) seconds = 0;  // a clock step backwards is not a negative latency
  // Buckets are stored per interval; render() accumulates them ("le" = less or equal).
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), seconds);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  // The sum is kept in whole microseconds so it can be an atomic integer.
  sum_us_.fetch_add(static_cast<std::uint64_t>(std::llround(seconds * 1e6)), std::memory_order_relaxed);
}

double Histogram::sum() const {
  return static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6;
}

Metrics& Metrics::global() {
  static Metrics m;
  return m;
}

namespace {
// One family has one type; registering the same name as another type is a programming error.
template <class FamilyT>
FamilyT& family_for(std::map<std::string, FamilyT>& families, const std::string& name,
                    const std::string& help, const char* type) {
  auto [it, inserted] = families.try_emplace(name);
  if (inserted) {
    it->second.help = help;
    it->second.type = type;
  } else if (it->second.type != type) {
    throw std::logic_error("metric " + name + " registered as " + it->second.type + " and " + type);
  }
  return it->second;
}
}  // namespace

Counter& Metrics::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& fam = family_for(families_, name, help, "counter");
  auto& slot = fam.counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Metrics::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& fam = family_for(families_, name, help, "gauge");
  auto& slot = fam.gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Metrics::histogram(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& fam = family_for(families_, name, help, "histogram");
  auto& slot = fam.histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(default_bounds());
  return *slot;
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(families_.size() * 256);
  for (const auto& [name, fam] : families_) {
    out += "# HELP " + name + ' ';
    append_help(out, fam.help);
    out += "\n# TYPE " + name + ' ' + fam.type + '\n';
    for (const auto& [labels, c] : fam.counters) {
      out += name;
      append_labels(out, labels);
      out += ' ' + std::to_string(c->value()) + '\n';
    }
    for (const auto& [labels, g] : fam.gauges) {
      out += name;
      append_labels(out, labels);
      out += ' ' + std::to_string(g->value()) + '\n';
    }
    for (const auto& [labels, h] : fam.histograms) {
      // Buckets are cumulative and end with +Inf, whose value equals _count.
      std::uint64_t cumulative = 0;
      const auto& bounds = h->bounds();
      for (std::size_t i = 0; i <= bounds.size(); ++i) {
        cumulative += h->bucket(i);
        const std::string le = i < bounds.size() ? format_double(bounds[i]) : "+Inf";
        out += name + "_bucket";
        append_labels(out, labels, &le);
        out += ' ' + std::to_string(cumulative) + '\n';
      }
      out += name + "_sum";
      append_labels(out, labels);
      out += ' ' + format_double(h->sum()) + '\n';
      out += name + "_count";
      append_labels(out, labels);
      // _count is the +Inf total rather than count_, so the two always agree even
      // while another thread is inside observe().
      out += ' ' + std::to_string(cumulative) + '\n';
    }
  }
  return out;
}

}  // namespace sb
