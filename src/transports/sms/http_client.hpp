// The libcurl edge of the SMS transport (SPEC §8: "libcurl, never blocking the event
// loop"). One worker thread drives a curl multi handle; the io thread submits
// requests and gets the answers posted back in batches (one batch per wake-up of the
// worker, so their durable state writes share a transaction).
//
// Keep-alive: the multi handle's connection cache keeps connections to the
// provider open between requests (at most 16 to one host). Each request has the
// configured overall timeout and a connect timeout of at most 10 s.
// HttpResult::reached says whether the provider may have received the request:
// false only when the connection was never made (DNS, refused, connect timeout, TLS
// handshake) or no byte of the request was sent — then a retry cannot duplicate.
// Threading: submit() and stop() from the io thread; the results callback runs on
// the executor given. Destruction stops and joins the worker.
#pragma once
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>
#include <boost/asio/any_io_executor.hpp>
#include "transports/sms/provider.hpp"

namespace sb::transport::sms {

class HttpClient {
 public:
  using Results = std::vector<std::pair<std::uint64_t, HttpResult>>;
  HttpClient(boost::asio::any_io_executor executor, int timeout_seconds, std::function<void(Results)> on_results);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  void submit(std::uint64_t id, HttpCall call);
  // Abandons what is in flight (never answered: the outbox treats it as ambiguous
  // at the next start) and lets the worker exit. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sb::transport::sms
