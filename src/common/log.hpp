// Logging: one line per event on stderr, with level and the component domain (or
// subsystem) as the logger name (SPEC §1). Never log secrets.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <spdlog/spdlog.h>

namespace sb::log {

// Sets the global level ("trace".."critical", "off"); false if the name is unknown.
bool set_level(std::string_view level);
// A logger named after a component domain or subsystem ("core", "http", "mqtt.example.org").
// Loggers are created once and shared; thread-safe.
std::shared_ptr<spdlog::logger> get(const std::string& name);

}  // namespace sb::log
