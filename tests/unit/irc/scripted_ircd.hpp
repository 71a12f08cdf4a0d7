// A tiny scripted IRC server for tests, on loopback, plain TCP or TLS (SPEC §7
// edge tests). It records every line it receives (`lines`, and the bytes in
// `raw`), so tests check what went over the wire; a Script answers each parsed
// line. ircd() is the script of a small ircd: registration, CAP LS/REQ/END, SASL
// PLAIN (accepts alice/pw), PING, QUIT.
//
// TLS uses a throwaway self-signed certificate for "localhost" (SAN DNS:localhost),
// made at test time with OpenSSL's C API: nothing secret is committed. cert().path
// is the certificate as PEM, usable as a ca_file that trusts it.
//
// Single-threaded: the test drives the io_context with run_until().
#pragma once
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <unistd.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "transports/irc/irc_message.hpp"

namespace sb::test::irc {

using sb::transport::irc::IrcMessage;
using sb::transport::irc::parse_line;

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

// ---------------------------------------------------------------- certificate

struct TestCert {
  TestCert() {
    key = EVP_EC_gen("P-256");
    REQUIRE(key);
    x509 = X509_new();
    X509_set_version(x509, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x509), 4242);
    X509_gmtime_adj(X509_getm_notBefore(x509), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x509), 86400);
    X509_set_pubkey(x509, key);
    X509_NAME* name = X509_get_subject_name(x509);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x509, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x509, x509, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost"}, {NID_basic_constraints, "critical,CA:TRUE"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      REQUIRE(ext);
      X509_add_ext(x509, ext, -1);
      X509_EXTENSION_free(ext);
    }
    REQUIRE(X509_sign(x509, key, EVP_sha256()) > 0);
    path = (std::filesystem::temp_directory_path() / ("irc_test_ca_" + std::to_string(::getpid()) + ".pem")).string();
    FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f);
    PEM_write_X509(f, x509);
    std::fclose(f);
  }
  ~TestCert() {
    std::remove(path.c_str());
    X509_free(x509);
    EVP_PKEY_free(key);
  }
  EVP_PKEY* key = nullptr;
  X509* x509 = nullptr;
  std::string path;  // the certificate as PEM: the ca_file that trusts it
};

inline TestCert& cert() {
  static TestCert c;
  return c;
}

// ---------------------------------------------------------------- the server

struct Peer;
using Script = std::function<void(Peer&, const IrcMessage&)>;

// One accepted client: records its lines, answers through the script.
struct Peer : std::enable_shared_from_this<Peer> {
  Peer(tcp::socket s, ssl::context* tls_ctx) {
    if (tls_ctx) tls.emplace(std::move(s), *tls_ctx);
    else plain.emplace(std::move(s));
  }
  void start(Script s) {
    script = std::move(s);
    if (!tls) return read();
    tls->async_handshake(ssl::stream_base::server, [self = shared_from_this()](const error_code& ec) {
      if (ec) {
        self->handshake_failed = true;
        self->closed = true;
        return;
      }
      self->read();
    });
  }
  void read() {
    auto h = [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); };
    if (tls) tls->async_read_some(asio::buffer(buf), h);
    else plain->async_read_some(asio::buffer(buf), h);
  }
  void on_read(const error_code& ec, std::size_t n) {
    if (ec) {
      closed = true;
      return;
    }
    raw.append(buf.data(), n);
    pending.append(buf.data(), n);
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(line);
      if (auto m = parse_line(line); m && script) script(*this, *m);
      if (closed) return;
    }
    read();
  }
  void send(const std::string& line) { write(line + "\r\n"); }
  void write(std::string bytes) {
    if (closed) return;
    out.push_back(std::move(bytes));
    if (out.size() == 1) do_write();
  }
  void do_write() {
    auto h = [self = shared_from_this()](const error_code& ec, std::size_t) {
      self->out.pop_front();
      if (!ec && !self->out.empty()) self->do_write();
    };
    if (tls) asio::async_write(*tls, asio::buffer(out.front()), h);
    else asio::async_write(*plain, asio::buffer(out.front()), h);
  }
  void close() {
    closed = true;
    error_code ignored;
    (tls ? tls->next_layer() : *plain).close(ignored);
  }
  bool has_line(std::string_view prefix) const {
    for (auto& l : lines)
      if (l.rfind(prefix, 0) == 0) return true;
    return false;
  }
  // Lines received after the first one starting with `prefix`.
  std::vector<std::string> lines_after(std::string_view prefix) const {
    std::vector<std::string> v;
    bool seen = false;
    for (auto& l : lines) {
      if (seen) v.push_back(l);
      else if (l.rfind(prefix, 0) == 0) seen = true;
    }
    return v;
  }

  std::optional<tcp::socket> plain;
  std::optional<ssl::stream<tcp::socket>> tls;
  std::array<char, 4096> buf{};
  std::string raw, pending;
  std::vector<std::string> lines;
  std::deque<std::string> out;
  Script script;
  bool closed = false, handshake_failed = false;
  // Registration state the default script keeps.
  bool got_nick = false, got_user = false, in_cap = false, welcomed = false;
  std::string nick;
};

struct Server {
  explicit Server(asio::io_context& io, bool use_tls = false, std::string address = "127.0.0.1")
      : acceptor(io, tcp::endpoint(asio::ip::make_address(address), 0)) {
    if (use_tls) {
      tls_ctx.emplace(ssl::context::tls_server);
      SSL_CTX* native = tls_ctx->native_handle();
      REQUIRE(SSL_CTX_use_certificate(native, cert().x509) == 1);
      REQUIRE(SSL_CTX_use_PrivateKey(native, cert().key) == 1);
      SSL_CTX_set_tlsext_servername_callback(native, &Server::on_sni);
      SSL_CTX_set_tlsext_servername_arg(native, this);
    }
    accept();
  }
  static int on_sni(SSL* s, int*, void* arg) {
    if (const char* name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name)) static_cast<Server*>(arg)->sni = name;
    return SSL_TLSEXT_ERR_OK;
  }
  void accept() {
    acceptor.async_accept([this](const error_code& ec, tcp::socket s) {
      if (ec) return;
      auto p = std::make_shared<Peer>(std::move(s), tls_ctx ? &*tls_ctx : nullptr);
      peers.push_back(p);
      if (!greeting.empty()) p->send(greeting);
      if (!no_start) p->start(script);
      accept();
    });
  }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
  Peer* peer() { return peers.empty() ? nullptr : peers.front().get(); }

  tcp::acceptor acceptor;
  std::optional<ssl::context> tls_ctx;
  std::vector<std::shared_ptr<Peer>> peers;
  Script script;
  bool no_start = false;  // accept, then say nothing (not even TLS)
  std::string greeting;   // sent in plain text on accept
  std::string sni;
};

// What a small ircd does for registration. `caps`: the CAP LS reply lines (empty:
// the server does not know CAP and ignores it). SASL accepts user/pass "alice"/"pw".
struct IrcdOptions {
  std::vector<std::string> caps;
  bool nak = false;
  bool nick_in_use = false;
  bool answer_ping = true;
  bool quit_closes = true;
  bool never_welcome = false;
};

inline Script ircd(IrcdOptions o = {}) {
  return [o](Peer& p, const IrcMessage& m) {
    auto welcome = [&] {
      if (p.welcomed || !p.got_nick || !p.got_user || p.in_cap || o.never_welcome) return;
      p.welcomed = true;
      p.send(":srv 001 " + p.nick + " :Welcome to the test network " + p.nick);
      p.send(":srv 005 " + p.nick + " PREFIX=(ov)@+ CHANTYPES=# :are supported by this server");
    };
    const std::string& c = m.command;
    if (c == "CAP" && m.param(0) == "LS") {
      if (o.caps.empty()) return;  // no CAP: ignored, like an RFC 1459 server
      p.in_cap = true;
      for (auto& l : o.caps) p.send(l);
    } else if (c == "CAP" && m.param(0) == "REQ") {
      p.send(std::string(":srv CAP * ") + (o.nak ? "NAK" : "ACK") + " :" + m.param(1));
    } else if (c == "CAP" && m.param(0) == "END") {
      p.in_cap = false;
      welcome();
    } else if (c == "AUTHENTICATE" && m.param(0) == "PLAIN") {
      p.send("AUTHENTICATE +");
    } else if (c == "AUTHENTICATE") {
      // base64("\0alice\0pw")
      if (m.param(0) == "AGFsaWNlAHB3") {
        p.send(":srv 900 alice alice!u@h alice :You are now logged in as alice");
        p.send(":srv 903 alice :SASL authentication successful");
      } else {
        p.send(":srv 904 * :SASL authentication failed");
      }
    } else if (c == "NICK") {
      if (o.nick_in_use && !p.welcomed) {
        p.send(":srv 433 * " + m.param(0) + " :Nickname is already in use");
        return;
      }
      p.got_nick = true;
      p.nick = m.param(0);
      welcome();
    } else if (c == "USER") {
      p.got_user = true;
      welcome();
    } else if (c == "PING" && o.answer_ping) {
      p.send(":srv PONG srv :" + m.param(0));
    } else if (c == "QUIT") {
      p.send(":srv ERROR :Closing Link: " + p.nick + " (Quit: " + m.param(0) + ")");
      if (o.quit_closes) p.close();
    }
  };
}

inline bool run_until(asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.run_one_for(10ms);
    if (io.stopped()) {
      io.restart();
      std::this_thread::sleep_for(1ms);
    }
  }
  return true;
}

inline void run_for(asio::io_context& io, std::chrono::milliseconds d) {
  run_until(io, [] { return false; }, d);
}

}  // namespace sb::test::irc
