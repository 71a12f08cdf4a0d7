// Incremental framing of an XMPP stream (SPEC §3, RFC 6120 §11).
//
// Bytes from the socket go in, in any split (one byte at a time, many stanzas per
// read, UTF-8 sequences cut in half); out come the stream header's attributes,
// each complete top-level element as its own byte string (ready for
// Stanza::parse), the stream close, or one error after which the framer stops.
//
// It is a scanner, not a full XML parser: it tracks tags, quotes, depth, names
// (start/end tags must match) and validates UTF-8; pugixml parses each element.
// Restricted XML (RFC 6120 §11.1): DTDs (<!DOCTYPE), entity declarations,
// comments, processing instructions (other than the XML declaration before the
// stream header), and entity references other than the five predefined ones and
// character references -> "restricted-xml". An element over max_element_bytes ->
// "policy-violation". Anything else malformed -> "not-well-formed".
// Memory is bounded by max_element_bytes. Pure; not thread-safe (one per stream).
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sb::xmpp {

struct FramerEvent {
  enum class Kind { StreamOpen, Element, StreamClose, Error };
  Kind kind;
  std::string data;                              // Element: its bytes; Error: the condition name
  std::map<std::string, std::string> attributes; // StreamOpen: attributes of <stream:stream>
};

class StreamFramer {
 public:
  explicit StreamFramer(std::size_t max_element_bytes = 512 * 1024);
  // Appends to `out` the events that the bytes complete. After an Error event,
  // further input is ignored until reset().
  void feed(std::string_view bytes, std::vector<FramerEvent>& out);
  void reset();  // for a new stream (reconnect)
  bool failed() const { return failed_; }

 private:
  // Scanner state; layout is the implementation's (stream_framer.cpp).
  struct State;
  std::size_t max_;
  bool failed_ = false;
  std::unique_ptr<State> st_;
 public:
  ~StreamFramer();
  StreamFramer(StreamFramer&&) noexcept;
  StreamFramer& operator=(StreamFramer&&) noexcept;
};

}  // namespace sb::xmpp
