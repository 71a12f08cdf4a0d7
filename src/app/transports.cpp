#include "app/transports.hpp"

#include "transports/irc/irc_transport.hpp"
#include "transports/mqtt/mqtt_transport.hpp"
#include "transports/sms/sms_transport.hpp"
#ifdef SB_TEST_TRANSPORT
#include "tests/fixtures/loopback/loopback_transport.hpp"
#endif

namespace sb::app {

const std::vector<transport::FactoryEntry>& transport_factories() {
  static const std::vector<transport::FactoryEntry> all = [] {
    std::vector<transport::FactoryEntry> v;
    v.push_back(transport::mqtt::factory());
    v.push_back(transport::irc::factory());
    v.push_back(transport::sms::factory());
#ifdef SB_TEST_TRANSPORT
    v.push_back(transport::loopback::factory());  // test fixture only
#endif
    return v;
  }();
  return all;
}

std::vector<std::string> transport_kinds() {
  std::vector<std::string> v;
  for (auto& f : transport_factories()) v.push_back(f.name);
  return v;
}

const transport::FactoryEntry* find_factory(const std::string& kind) {
  for (auto& f : transport_factories())
    if (f.name == kind) return &f;
  return nullptr;
}

}  // namespace sb::app
