#include "common/log.hpp"

#include <mutex>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>  // defines stderr_sink_mt in spdlog 1.10

namespace sb::log {
namespace {
std::mutex g_mutex;
spdlog::level::level_enum g_level = spdlog::level::info;
spdlog::sink_ptr sink() {
  static spdlog::sink_ptr s = [] {
    auto p = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    // spdlog 1.10: the UTC time type is a formatter option, not a sink set_pattern one.
    p->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l [%n] %v",
                                                                 spdlog::pattern_time_type::utc));
    return p;
  }();
  return s;
}
}  // namespace

bool set_level(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  // from_str maps unknown names to "off"; only accept "off" when asked for it.
  if (lvl == spdlog::level::off && level != "off") return false;
  std::lock_guard lock(g_mutex);
  g_level = lvl;
  spdlog::apply_all([&](std::shared_ptr<spdlog::logger> l) { l->set_level(lvl); });
  return true;
}

std::shared_ptr<spdlog::logger> get(const std::string& name) {
  std::lock_guard lock(g_mutex);
  if (auto l = spdlog::get(name)) return l;
  auto l = std::make_shared<spdlog::logger>(name, sink());
  l->set_level(g_level);
  l->flush_on(spdlog::level::trace);
  spdlog::register_logger(l);
  return l;
}

}  // namespace sb::log
