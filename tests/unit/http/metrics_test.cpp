// Prometheus text format 0.0.4 as rendered for GET /metrics (SPEC §9).
#include <doctest/doctest.h>

#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/metrics.hpp"

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("metrics: counters with labels render HELP, TYPE and one line per series") {
  sb::Metrics m;
  m.counter("switchboard_stanzas_total", "Stanzas by direction", {{"domain", "mqtt.example.org"}, {"direction", "in"}})
      .inc(3);
  // The same name and labels return the same counter.
  m.counter("switchboard_stanzas_total", "Stanzas by direction", {{"domain", "mqtt.example.org"}, {"direction", "in"}})
      .inc();
  m.counter("switchboard_stanzas_total", "Stanzas by direction", {{"domain", "mqtt.example.org"}, {"direction", "out"}});
  m.counter("switchboard_reconnects_total", "Reconnects").inc(2);

  const std::string out = m.render();
  CHECK(contains(out, "# HELP switchboard_stanzas_total Stanzas by direction\n"
                      "# TYPE switchboard_stanzas_total counter\n"));
  CHECK(contains(out, "switchboard_stanzas_total{domain=\"mqtt.example.org\",direction=\"in\"} 4\n"));
  CHECK(contains(out, "switchboard_stanzas_total{domain=\"mqtt.example.org\",direction=\"out\"} 0\n"));
  // No labels: no braces at all.
  CHECK(contains(out, "\nswitchboard_reconnects_total 2\n"));
  // HELP/TYPE once per family, not per series.
  std::size_t helps = 0;
  for (auto pos = out.find("# HELP switchboard_stanzas_total"); pos != std::string::npos;
       pos = out.find("# HELP switchboard_stanzas_total", pos + 1))
    ++helps;
  CHECK(helps == 1);
}

TEST_CASE("metrics: gauges go up and down, including below zero") {
  sb::Metrics m;
  auto& g = m.gauge("switchboard_queue_depth", "Queued messages", {{"queue", "sms_outbox"}});
  g.set(5);
  g.add(-7);
  const std::string out = m.render();
  CHECK(contains(out, "# TYPE switchboard_queue_depth gauge\n"));
  CHECK(contains(out, "switchboard_queue_depth{queue=\"sms_outbox\"} -2\n"));
}

TEST_CASE("metrics: histogram buckets are cumulative, le inclusive, end with +Inf = _count") {
  sb::Metrics m;
  auto& h = m.histogram("switchboard_latency_seconds", "Bridge latency", {{"transport", "mqtt"}});
  h.observe(0.0003);  // <= 0.0005
  h.observe(0.001);   // exactly on a bound: counted in le="0.001"
  h.observe(0.003);   // <= 0.005
  h.observe(0.003);
  h.observe(20);      // beyond the last bound: only +Inf
  const std::string out = m.render();
  CHECK(contains(out, "# TYPE switchboard_latency_seconds histogram\n"));
  const std::string p = "switchboard_latency_seconds_bucket{transport=\"mqtt\",le=";
  CHECK(contains(out, p + "\"0.0005\"} 1\n"));
  CHECK(contains(out, p + "\"0.001\"} 2\n"));
  CHECK(contains(out, p + "\"0.0025\"} 2\n"));
  CHECK(contains(out, p + "\"0.005\"} 4\n"));
  CHECK(contains(out, p + "\"1\"} 4\n"));
  CHECK(contains(out, p + "\"2.5\"} 4\n"));
  CHECK(contains(out, p + "\"10\"} 4\n"));
  CHECK(contains(out, p + "\"+Inf\"} 5\n"));
  CHECK(contains(out, "switchboard_latency_seconds_sum{transport=\"mqtt\"} 20.0073\n"));
  CHECK(contains(out, "switchboard_latency_seconds_count{transport=\"mqtt\"} 5\n"));

  // All 14 default bounds plus +Inf, in increasing order.
  std::regex le_re("le=\"([^\"]+)\"");
  std::vector<std::string> les;
  for (std::sregex_iterator it(out.begin(), out.end(), le_re), end; it != end; ++it) les.push_back((*it)[1]);
  const std::vector<std::string> want{"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
                                      "0.25",   "0.5",   "1",      "2.5",   "5",    "10",    "+Inf"};
  CHECK(les == want);
}

TEST_CASE("metrics: label values and HELP are escaped") {
  sb::Metrics m;
  m.counter("switchboard_errors_total", "Errors \\ by\nkind", {{"text", "a\\b\"c\nd"}}).inc();
  const std::string out = m.render();
  CHECK(contains(out, "# HELP switchboard_errors_total Errors \\\\ by\\nkind\n"));
  CHECK(contains(out, "switchboard_errors_total{text=\"a\\\\b\\\"c\\nd\"} 1\n"));
}

TEST_CASE("metrics: every sample line is well-formed exposition text") {
  sb::Metrics m;
  m.counter("a_total", "a", {{"k", "v w"}}).inc();
  m.gauge("b", "b").set(1);
  m.histogram("c_seconds", "c").observe(0.2);
  std::istringstream in(m.render());
  const std::regex sample(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? \S+$)");
  const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  std::string line;
  int samples = 0;
  while (std::getline(in, line)) {
    INFO(line);
    CHECK((std::regex_match(line, sample) || std::regex_match(line, comment)));
    if (line[0] != '#') ++samples;
  }
  CHECK(samples == 1 + 1 + 15 + 2);
}

TEST_CASE("metrics: one name cannot be two types") {
  sb::Metrics m;
  m.counter("x", "x");
  CHECK_THROWS_AS(m.gauge("x", "x"), std::logic_error);
}

TEST_CASE("metrics: updates from several threads are all counted") {
  sb::Metrics m;
  auto& c = m.counter("t_total", "t");
  auto& h = m.histogram("t_seconds", "t");
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 1000; ++j) {
        c.inc();
        h.observe(0.01);
      }
    });
  for (auto& t : threads) t.join();
  const std::string out = m.render();
  CHECK(contains(out, "t_total 4000\n"));
  CHECK(contains(out, "t_seconds_count 4000\n"));
  CHECK(contains(out, "t_seconds_bucket{le=\"0.01\"} 4000\n"));
  CHECK(contains(out, "t_seconds_sum 40\n"));
}
