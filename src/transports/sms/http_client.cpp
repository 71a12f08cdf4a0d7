#include "transports/sms/http_client.hpp"

#include <map>
#include <boost/asio/post.hpp>
#include <curl/curl.h>

namespace sb::transport::sms {
namespace {
constexpr std::size_t kMaxBody = 1 << 20;  // an answer larger than this is cut (and its request ambiguous)

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  std::uint64_t id = 0;
  HttpCall call;
  curl_slist* headers = nullptr;
  HttpResult result;
  char error[CURL_ERROR_SIZE] = {};
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  if (t->result.body.size() + len > kMaxBody) return 0;  // aborts: CURLE_WRITE_ERROR
  t->result.body.append(data, len);
  return len;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  std::string_view line(data, len);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (std::size_t i = 0; i < kName.size() && match; ++i)
      match = static_cast<char>(std::tolower(static_cast<unsigned char>(line[i]))) == kName[i];
    if (match) t->result.retry_after = std::string(line.substr(kName.size()));
  }
  return len;
}

// Could the provider have received (and acted on) this request?
bool reached(CURLcode rc, CURL* easy) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return false;
    default: break;
  }
  // A timeout or a broken connection: the request went out if any byte of it did.
  long sent = 0;
  curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent);
  return sent > 0;
}
}  // namespace

struct HttpClient::Impl {
  boost::asio::any_io_executor executor;
  long timeout_s;
  std::function<void(Results)> on_results;
  std::shared_ptr<std::atomic<bool>> alive = std::make_shared<std::atomic<bool>>(true);

  CURLM* multi = nullptr;
  std::mutex mu;
  std::deque<std::pair<std::uint64_t, HttpCall>> queue;  // guarded by mu
  bool stopping = false;                                 // guarded by mu
  std::thread worker;

  // Worker-thread only.
  std::map<CURL*, std::unique_ptr<Transfer>> active;
  std::vector<CURL*> idle;

  void start(std::uint64_t id, HttpCall call) {
    CURL* easy;
    if (!idle.empty()) {
      easy = idle.back();
      idle.pop_back();
      curl_easy_reset(easy);
    } else {
      easy = curl_easy_init();
    }
    auto t = std::make_unique<Transfer>();
    t->id = id;
    t->call = std::move(call);
    for (const auto& [k, v] : t->call.headers) t->headers = curl_slist_append(t->headers, (k + ": " + v).c_str());
    t->headers = curl_slist_append(t->headers, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(easy, CURLOPT_URL, t->call.url.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
    if (t->call.method == "POST") {
      curl_easy_setopt(easy, CURLOPT_POST, 1L);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(t->call.body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t->call.body.data());
    } else {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, std::min(timeout_s, 10L));
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "switchboard/" SB_VERSION);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t.get());
    active.emplace(easy, std::move(t));
    curl_multi_add_handle(multi, easy);
  }

  void finished(CURL* easy, CURLcode rc, Results& out) {
    auto it = active.find(easy);
    curl_multi_remove_handle(multi, easy);
    if (it == active.end()) return;
    Transfer& t = *it->second;
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    // An answer's status line counts even if its body broke off: the provider spoke.
    t.result.status = static_cast<int>(code);
    if (rc == CURLE_OK || code > 0) {
      t.result.reached = true;
    } else {
      t.result.reached = reached(rc, easy);
      t.result.error = t.error[0] ? std::string(t.error) : std::string(curl_easy_strerror(rc));
    }
    curl_slist_free_all(t.headers);
    out.emplace_back(t.id, std::move(t.result));
    active.erase(it);
    idle.push_back(easy);
  }

  void run() {
    for (;;) {
      std::deque<std::pair<std::uint64_t, HttpCall>> todo;
      {
        std::lock_guard lock(mu);
        if (stopping) break;
        todo.swap(queue);
      }
      for (auto& [id, call] : todo) start(id, std::move(call));
      int running = 0;
      curl_multi_perform(multi, &running);
      Results results;
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi, &left))
        if (m->msg == CURLMSG_DONE) finished(m->easy_handle, m->data.result, results);
      if (!results.empty()) {
        boost::asio::post(executor, [alive = alive, cb = on_results, r = std::move(results)]() mutable {
          if (*alive) cb(std::move(r));
        });
      }
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    for (auto& [easy, t] : active) {
      curl_multi_remove_handle(multi, easy);
      curl_slist_free_all(t->headers);
      curl_easy_cleanup(easy);
    }
    active.clear();
    for (CURL* e : idle) curl_easy_cleanup(e);
    idle.clear();
  }
};

HttpClient::HttpClient(boost::asio::any_io_executor executor, int timeout_seconds,
                       std::function<void(Results)> on_results)
    : impl_(std::make_unique<Impl>()) {
  global_init();
  impl_->executor = std::move(executor);
  impl_->timeout_s = timeout_seconds;
  impl_->on_results = std::move(on_results);
  impl_->multi = curl_multi_init();
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
  curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS, 32L);
  impl_->worker = std::thread([impl = impl_.get()] { impl->run(); });
}

HttpClient::~HttpClient() {
  stop();
  if (impl_->worker.joinable()) impl_->worker.join();
  curl_multi_cleanup(impl_->multi);
}

void HttpClient::submit(std::uint64_t id, HttpCall call) {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->queue.emplace_back(id, std::move(call));
  }
  curl_multi_wakeup(impl_->multi);
}

void HttpClient::stop() {
  *impl_->alive = false;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  curl_multi_wakeup(impl_->multi);
}

}  // namespace sb::transport::sms
