// The viewer's server and scene loading: only the page's files, the API and the one scene file are
// served (`..`, percent-encoded `..`, other files of the run and symlinks out of the page's folder are
// 404), a port in use is one clear error (also through `vgsplat view`), the cameras are in the scene
// file's world frame, and a results folder resolves to its newest PLY and stats.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <cstdio>
#include <random>
#include <fstream>

#include <Eigen/Geometry>

#include "core/fs.h"
#include "io/ply.h"
#include "pipeline/demo_scene.h"
#include "pipeline/render_model.h"
#include "splat/init.h"
#include "splat/traj_render.h"
#include "temp_dir.h"
#include "test_util.h"
#include "viewer/scene.h"
#include "viewer/server.h"
#include "viewer/training.h"
#include "splat/trainer.h"

namespace vg {
namespace {

Gaussians random_gaussians(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> xyz, rgb;
  random_points(n, 1.0f, rng, xyz, rgb);
  return init_gaussians(xyz, rgb, 1, 0.1f, 1.0f, rng);
}

// One raw HTTP/1.1 GET (the path sent exactly as given); returns the status code, -1 on failure.
int http_status(int port, const std::string& path, std::string* body = nullptr) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return ::close(fd), -1;
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) return ::close(fd), -1;
  std::string resp;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) resp.append(buf, n);
  ::close(fd);
  if (body) *body = resp.substr(std::min(resp.size(), resp.find("\r\n\r\n") + 4));
  return resp.rfind("HTTP/1.1 ", 0) == 0 ? std::stoi(resp.substr(9, 3)) : -1;
}

void write_text(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << s;
}

class ViewerServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!viewer_supported()) GTEST_SKIP() << viewer_unsupported_message();
  }
};

// A fake page folder: its own files, a symlink inside (served) and symlinks out (not served).
struct Fixture {
  test::TempDir dir{"viewer_server"};
  std::shared_ptr<SceneStore> store;
  std::unique_ptr<ViewerServer> server;
  Fixture() {
    write_text(dir.path / "web" / "index.html", "<html>page</html>");
    write_text(dir.path / "web" / "viewer.js", "// bundle");
    write_text(dir.path / "web" / "sub" / "x.js", "// not served: subfolders are not part of the page");
    write_text(dir.path / "secret.txt", "secret");
    fs::create_symlink(dir.path / "secret.txt", dir.path / "web" / "leak.txt");
    fs::create_symlink("../secret.txt", dir.path / "web" / "leak2.txt");
    fs::create_symlink("viewer.js", dir.path / "web" / "alias.js");
    ViewerScene s;
    s.bytes = "ply\nfake";
    s.step = 7;
    store = std::make_shared<SceneStore>(std::move(s), ViewerContext{});
    ServerOptions o;
    o.port = 0;
    o.web_dir = dir.path / "web";
    server = std::make_unique<ViewerServer>(o, store);
    server->start();
  }
};

TEST_F(ViewerServerTest, ServesOnlyThePageTheApiAndTheScene) {
  Fixture f;
  const int port = f.server->port();
  EXPECT_EQ(f.server->url(), "http://127.0.0.1:" + std::to_string(port) + "/");
  std::string body;
  EXPECT_EQ(http_status(port, "/", &body), 200);
  EXPECT_EQ(body, "<html>page</html>");
  EXPECT_EQ(http_status(port, "/viewer.js"), 200);
  EXPECT_EQ(http_status(port, "/alias.js"), 200);  // a symlink inside the page's folder
  EXPECT_EQ(http_status(port, "/scene/scene.ply", &body), 200);
  EXPECT_EQ(body, "ply\nfake");
  EXPECT_EQ(http_status(port, "/api/scene", &body), 200);
  EXPECT_NE(body.find("\"url\":\"scene/scene.ply\""), std::string::npos) << body;
  EXPECT_EQ(http_status(port, "/api/step", &body), 200);
  EXPECT_NE(body.find("\"step\":7"), std::string::npos) << body;
  for (const char* bad : {"/leak.txt", "/leak2.txt", "/secret.txt", "/../secret.txt", "/..%2fsecret.txt",
                          "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/sub/x.js", "/sub%2fx.js",
                          "/scene/../secret.txt", "/scene/%2e%2e%2fsecret.txt", "/scene/scene.splat",
                          "/scene/", "/api/other", "/api/../secret.txt", "/index.html/..", "/..", "/.",
                          "//etc/passwd", "/etc/passwd", "/%00"})
    EXPECT_EQ(http_status(port, bad), 404) << bad;
}

// `train --viewer`: while a (CPU) training runs, api/step moves through multiples of --viewer-every and
// the served PLY is the trainer's current model (the page reloads it when api/step changes).
TEST_F(ViewerServerTest, TrainingViewerPublishesTheNewestSplatsEveryNSteps) {
  test::TempDir dir{"viewer_live"};
  demo::SceneOptions so;
  so.width = so.height = 32;
  so.n_train = 6;
  so.n_test = 2;
  demo::write_scene(dir.path / "data", so);
  TrainConfig c = demo::train_config(dir.path / "data", dir.path / "run", 100, "cpu");
  c.init_num_pts = 300;
  c.lpips_weights.clear();
  Trainer t(c);
  t.set_verbose(false);
  TrainingViewerOptions vo;
  vo.port = 0;
  vo.every = 20;
  TrainingViewer live(t, vo);
  const std::string url = live.url();
  const int port = std::stoi(url.substr(url.rfind(':') + 1));
  std::string body, first_ply;
  ASSERT_EQ(http_status(port, "/api/scene", &body), 200);
  EXPECT_NE(body.find("\"live\":true"), std::string::npos) << body;
  ASSERT_EQ(http_status(port, "/scene/scene.ply", &first_ply), 200);
  std::atomic<bool> done{false};
  std::set<int> seen;
  std::thread poll([&] {
    std::string b;
    while (!done) {
      if (http_status(port, "/api/step", &b) == 200) {
        const auto j = nlohmann::json::parse(b, nullptr, false);
        if (j.is_object() && j.contains("step") && j["step"].is_number_integer()) seen.insert(j["step"].get<int>());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  t.run();
  done = true;
  poll.join();
  ASSERT_EQ(http_status(port, "/api/step", &body), 200);
  EXPECT_NE(body.find("\"step\":100"), std::string::npos) << body;
  for (int s : seen) EXPECT_EQ(s % 20, 0) << "published at step " << s;
  std::string ply;
  ASSERT_EQ(http_status(port, "/scene/scene.ply", &ply), 200);
  EXPECT_NE(ply, first_ply);
  write_text(dir.path / "served.ply", ply);
  const Gaussians served = read_ply_3dgs(dir.path / "served.ply");
  EXPECT_EQ(served.size(), t.gaussians().size());
  std::printf("live viewer: api/step values seen while training: %zu (last 100)\n", seen.size());
}

TEST_F(ViewerServerTest, PortInUseIsOneClearError) {
  Fixture f;
  ServerOptions o;
  o.port = f.server->port();
  o.web_dir = f.dir.path / "web";
  const std::string err = test::error_of([&] { ViewerServer second(o, f.store); });
  EXPECT_NE(err.find("port " + std::to_string(o.port) + " is in use"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
}

TEST_F(ViewerServerTest, MissingPageSaysHowToGetIt) {
  test::TempDir d("viewer_nopage");
  ServerOptions o;
  o.port = 0;
  o.web_dir = d.path;
  auto store = std::make_shared<SceneStore>(ViewerScene{}, ViewerContext{});
  const std::string err = test::error_of([&] { ViewerServer s(o, store); });
  EXPECT_NE(err.find("npm"), std::string::npos) << err;
}

#ifdef VGSPLAT_BINARY
TEST_F(ViewerServerTest, ViewCommandPortInUseExitsNonZeroWithOneLine) {
  Fixture f;
  demo::SceneOptions so;
  so.width = so.height = 16;
  so.n_train = 2;
  so.n_test = 1;
  demo::write_scene(f.dir.path / "data", so);
  Gaussians g = random_gaussians(200, 7);
  write_ply_3dgs(f.dir.path / "m.ply", g);
  const fs::path err = f.dir.path / "err.txt";
  const std::string cmd = std::string(VGSPLAT_BINARY) + " view " + (f.dir.path / "m.ply").string() + " --port " +
                          std::to_string(f.server->port()) + " >/dev/null 2>" + err.string();
  const int rc = std::system(cmd.c_str());
  EXPECT_NE(rc, 0);
  const std::string text = read_file(err);
  EXPECT_NE(text.find("is in use"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
}
#endif

// A world point projects to the same pixel through the served (world-frame) camera as through the
// dataset's normalised camera after the dataset's similarity.
TEST(ViewerScene, CamerasAreInTheWorldFrame) {
  test::TempDir d("viewer_cams");
  demo::SceneOptions so;
  so.width = so.height = 16;
  so.n_train = 3;
  so.n_test = 1;
  demo::write_scene(d.path, so);
  DatasetOptions o;
  o.dir = d.path;
  Dataset data = load_dataset(o);
  Eigen::Matrix4d T = Eigen::Matrix4d::Identity();  // a similarity: scale 2.5, a rotation, a shift
  T.topLeftCorner<3, 3>() = 2.5 * Eigen::AngleAxisd(0.7, Eigen::Vector3d(1, 2, 3).normalized()).toRotationMatrix();
  T.topRightCorner<3, 1>() = Eigen::Vector3d(0.3, -1.0, 2.0);
  data.transform = T;
  const nlohmann::json cams = cameras_json(data);
  ASSERT_EQ(cams.size(), 4u);
  const std::vector<const View*> views = all_views(data);
  const Eigen::Vector4d world(0.2, -0.1, 0.3, 1);
  for (size_t k = 0; k < views.size(); ++k) {
    Eigen::Matrix4d vn, vw;
    for (int i = 0; i < 16; ++i) vn(i / 4, i % 4) = views[k]->camera.viewmat[i];
    for (int i = 0; i < 16; ++i) vw(i / 4, i % 4) = cams[k]["viewmat"][i].get<double>();
    EXPECT_NEAR((vw.topLeftCorner<3, 3>() * vw.topLeftCorner<3, 3>().transpose() - Eigen::Matrix3d::Identity()).norm(),
                0, 1e-6);
    const Eigen::Vector4d a = vn * (T * world), b = vw * world;
    EXPECT_NEAR(a.x() / a.z(), b.x() / b.z(), 1e-6);
    EXPECT_NEAR(a.y() / a.z(), b.y() / b.z(), 1e-6);
    EXPECT_GT(b.z(), 0);
    EXPECT_EQ(cams[k]["name"], views[k]->name);
  }
}

TEST(ViewerScene, ResultsFolderServesTheNewestPlyAndItsStats) {
  test::TempDir d("viewer_results");
  Gaussians g = random_gaussians(50, 3);
  write_ply_3dgs(d.path / "ply" / "point_cloud_99.ply", g);
  write_ply_3dgs(d.path / "ply" / "point_cloud_199.ply", g);
  write_text(d.path / "stats" / "val_step0199.json", R"({"psnr": 30.5})");
  write_text(d.path / "metadata.json", R"({"pipeline": "P1"})");
  ViewerInput in;
  in.path = d.path;
  const LoadedViewer v = load_viewer_input(in);
  EXPECT_EQ(v.scene.step, 200);
  EXPECT_EQ(v.scene.num_gaussians, 50);
  EXPECT_EQ(v.scene.format, "ply");
  EXPECT_EQ(v.context.stats["stats/val_step0199.json"]["psnr"], 30.5);
  EXPECT_EQ(v.context.stats["metadata.json"]["pipeline"], "P1");
  EXPECT_FALSE(v.note.empty());  // no dataset: says how to list cameras
}

TEST(ViewerScene, BadInputIsOneLine) {
  test::TempDir d("viewer_bad");
  write_text(d.path / "points.ply", "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n0\n");
  for (const fs::path& p : {d.path / "missing.ply", d.path / "points.ply", d.path}) {
    ViewerInput in;
    in.path = p;
    const std::string err = test::error_of([&] { load_viewer_input(in); });
    EXPECT_FALSE(err.empty()) << p;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
}

}  // namespace
}  // namespace vg
