// The transport factory registry (DESIGN.md): every transport compiled in, by its
// config block name. A new transport adds one line in transports.cpp.
#pragma once
#include <string>
#include <vector>
#include "transports/api/factory.hpp"

namespace sb::app {
const std::vector<transport::FactoryEntry>& transport_factories();
std::vector<std::string> transport_kinds();
const transport::FactoryEntry* find_factory(const std::string& kind);
}  // namespace sb::app
