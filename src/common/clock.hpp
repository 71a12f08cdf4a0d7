// Time as the core sees it. The core never reads the wall clock itself: it is
// handed a Clock, so tests drive time by hand (DESIGN.md "Tests").
#pragma once
#include <chrono>
#include <cstdint>

namespace sb {

using Millis = std::chrono::milliseconds;
using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;        // monotonic, for timeouts and backoff
  virtual std::int64_t unix_ms() const = 0; // wall clock, for timestamps stored or shown
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  std::int64_t unix_ms() const override {
    return std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
};

// A clock tests move by hand.
class ManualClock final : public Clock {
 public:
  TimePoint now() const override { return now_; }
  std::int64_t unix_ms() const override { return 1'700'000'000'000 + std::chrono::duration_cast<Millis>(now_.time_since_epoch()).count(); }
  void advance(Millis d) { now_ += d; }
 private:
  TimePoint now_{};
};

}  // namespace sb
