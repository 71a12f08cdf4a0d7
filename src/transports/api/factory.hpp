// The transport factory registry: config block name -> constructor.
// A new transport = one registration here (src/app/transports.cpp) + its folder.
//
// Construction parses the transport's own config keys through the ConfigReader
// (reporting problems there, never throwing) and does no I/O, so --check-config
// builds every transport and discards it.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <boost/asio/any_io_executor.hpp>
#include "common/clock.hpp"
#include "common/config_reader.hpp"
#include "transports/api/store.hpp"
#include "transports/api/transport.hpp"

namespace sb::http {
class HttpHandler;
}

namespace sb::transport {

struct Deps {
  boost::asio::any_io_executor executor;  // the io thread's
  Clock& clock;
  Store& store;
  std::string domain;
  // The one HTTP listener's routes (SPEC §9), for webhooks (SMS). Routes must be
  // added during construction. nullptr when [http] has no listener: a transport
  // that needs one reports a config problem.
  http::HttpHandler* http = nullptr;
  // The core keeps a durable archive of this domain's room lines (README "Room
  // archive"): a transport need not hold room lines in memory for a later replay.
  bool room_archive = false;
};

// Reads the block's transport-specific keys (the common ones — domain, secret,
// allow — are read by the app and marked known before). Returns nullptr only if
// problems were reported.
using Factory = std::function<std::unique_ptr<Transport>(ConfigReader& block, Deps& deps)>;

struct FactoryEntry {
  std::string name;  // the config block: "mqtt" for [[mqtt]]
  Factory create;
};

}  // namespace sb::transport
