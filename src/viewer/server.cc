#include "viewer/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <httplib.h>

#include "core/error.h"
#include "viewer/web_assets.h"

namespace vg {
namespace {

// Why binding host:port fails ("" when it would succeed), probed with a plain socket so the error
// names the cause (httplib reports only false).
std::string bind_error(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return "'" + host + "' is not an IPv4 address";
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::strerror(errno);
  const int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);  // as httplib binds
  const int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int err = errno;
  ::close(fd);
  if (rc == 0) return "";
  if (err == EADDRINUSE) return "port " + std::to_string(port) + " is in use (pick another with --port)";
  return std::strerror(err);
}

void not_found(httplib::Response& res) {
  res.status = 404;
  res.set_content("not found\n", "text/plain");
}

}  // namespace

bool viewer_supported() { return true; }
std::string viewer_unsupported_message() { return ""; }

struct ViewerServer::Impl {
  httplib::Server http;
  std::shared_ptr<SceneStore> store;
  WebAssets assets;
  std::string host;
  int port = 0;
  std::thread thread;
};

ViewerServer::ViewerServer(const ServerOptions& opt, std::shared_ptr<SceneStore> store) : impl_(new Impl) {
  Impl& m = *impl_;
  m.store = std::move(store);
  m.assets = load_web_assets(opt.web_dir.empty() ? find_web_dir() : opt.web_dir);
  m.host = opt.host;
  // Exact matches only: the page's files, the two API calls and the one scene file.
  m.http.Get(R"(/[^/]*)", [&m](const httplib::Request& req, httplib::Response& res) {
    const auto it = m.assets.find(req.path == "/" ? "/index.html" : req.path);
    if (it == m.assets.end()) return not_found(res);
    res.set_content(it->second.bytes, it->second.content_type);
  });
  m.http.Get("/api/scene", [&m](const httplib::Request&, httplib::Response& res) {
    res.set_content(m.store->info_json().dump(), "application/json");
    res.set_header("Cache-Control", "no-store");
  });
  m.http.Get("/api/step", [&m](const httplib::Request&, httplib::Response& res) {
    res.set_content(m.store->step_json().dump(), "application/json");
    res.set_header("Cache-Control", "no-store");
  });
  m.http.Get(R"(/scene/([^/]+))", [&m](const httplib::Request& req, httplib::Response& res) {
    const std::shared_ptr<const ViewerScene> s = m.store->scene();
    if (req.matches[1].str() != s->file_name()) return not_found(res);
    res.set_content(s->bytes, "application/octet-stream");
    res.set_header("Cache-Control", "no-store");
  });
  m.http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404) not_found(res);
  });
  if (opt.port == 0) {
    m.port = m.http.bind_to_any_port(opt.host);
    VG_CHECK(m.port > 0, "cannot listen on ", opt.host, ": ", bind_error(opt.host, 0));
  } else {
    const std::string why = bind_error(opt.host, opt.port);
    VG_CHECK(why.empty(), "cannot listen on ", opt.host, ":", opt.port, ": ", why);
    VG_CHECK(m.http.bind_to_port(opt.host, opt.port), "cannot listen on ", opt.host, ":", opt.port);
    m.port = opt.port;
  }
}

ViewerServer::~ViewerServer() { stop(); }

int ViewerServer::port() const { return impl_->port; }

std::string ViewerServer::url() const {
  return "http://" + (impl_->host == "0.0.0.0" ? std::string("127.0.0.1") : impl_->host) + ":" +
         std::to_string(impl_->port) + "/";
}

void ViewerServer::start() {
  impl_->thread = std::thread([this] { impl_->http.listen_after_bind(); });
  // httplib's stop() does nothing before its loop runs: wait for it so that stop() never hangs.
  for (int i = 0; i < 5000 && !impl_->http.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void ViewerServer::serve() { impl_->http.listen_after_bind(); }

void ViewerServer::stop() {
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace vg
