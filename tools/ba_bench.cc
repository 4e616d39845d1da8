// ba_bench: solves one bundle-adjustment problem (a folder written by sfm/bundle_problem_io.h) with several
// solvers, each from the same initial values, and prints them side by side.
//   ba_bench <problem dir> [--devices cpu,cuda,ceres] [--repeat N] [--threads N] [--json FILE]
// cpu / cuda: vgsplat's bundle_adjust; ceres: Ceres Solver on the same residuals and gauge (tests/ceres_ba.h,
// only when built with Ceres). --threads sets VGSPLAT_THREADS for ours and num_threads for Ceres (default: all
// cores). Seconds are the median of --repeat runs (default 1); "setup" is the part before the first LM step.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/device.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/parallel.h"
#include "sfm/bundle_adjustment.h"
#include "sfm/bundle_problem_io.h"
#include "tests/ceres_ba.h"

namespace {

using namespace vg;

struct Args {
  std::string dir, json;
  std::vector<std::string> devices{"cpu", "cuda", "ceres"};
  int repeat = 1, threads = 0;
};

// One solve: what every solver reports.
struct Run {
  double initial_cost = 0, final_cost = 0, seconds = 0, setup_seconds = 0;
  int iterations = 0, num_residuals = 0;
  std::string termination;
};

struct Row {
  std::string solver, note;  // note: why it was skipped (then no runs)
  std::vector<Run> runs;
  double median_seconds() const {
    std::vector<double> s;
    for (const Run& r : runs) s.push_back(r.seconds);
    std::sort(s.begin(), s.end());
    const size_t n = s.size();
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
  }
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "ba_bench: %s\nusage: ba_bench <problem dir> [--devices cpu,cuda,ceres] [--repeat N] [--threads N] "
               "[--json FILE]\n",
               why.c_str());
  std::exit(2);
}

int positive_int(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < 1 || n > 1000000) usage(flag + " needs a positive integer, got '" + v + "'");
  return static_cast<int>(n);
}

std::vector<std::string> split_devices(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream ss(list);
  for (std::string d; std::getline(ss, d, ',');) {
    if (d != "cpu" && d != "cuda" && d != "ceres") usage("unknown solver '" + d + "' in --devices (cpu, cuda, ceres)");
    if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  }
  if (out.empty()) usage("--devices is empty");
  return out;
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(s + " needs a value");
      return argv[++i];
    };
    if (s == "--devices") a.devices = split_devices(value());
    else if (s == "--repeat") a.repeat = positive_int(s, value());
    else if (s == "--threads") a.threads = positive_int(s, value());
    else if (s == "--json") a.json = value();
    else if (s == "-h" || s == "--help") usage("solves one bundle-adjustment problem with several solvers");
    else if (!s.empty() && s[0] == '-') usage("unknown option " + s);
    else if (a.dir.empty()) a.dir = s;
    else usage("more than one problem dir given");
  }
  if (a.dir.empty()) usage("no problem dir given");
  return a;
}

// Images with at least one observation and the points they observe: the problem's size as the solvers see it.
std::pair<int, int> problem_size(const ColmapModel& m) {
  int images = 0;
  std::set<int64_t> points;
  for (const auto& [iid, im] : m.images) {
    bool any = false;
    for (int64_t pid : im.point3D_ids)
      if (pid >= 0) points.insert(pid), any = true;
    images += any;
  }
  return {images, static_cast<int>(points.size())};
}

// The first GPU this build can run on, or why there is none.
std::string cuda_unavailable(Device& dev) {
  if (!cuda_compiled()) return "this build has no CUDA backend";
  for (const GpuInfo& g : list_gpus())
    if (g.supported) {
      dev = Device::cuda(g.index);
      return "";
    }
  return "no usable CUDA GPU";
}

Run run_ours(const ColmapModel& m, BundleOptions opt, Device dev) {
  ColmapModel copy = m;
  opt.device = dev;
  const BundleSummary s = bundle_adjust(copy, opt);
  return {s.initial_cost, s.final_cost, s.seconds, s.setup_seconds, s.iterations, s.num_residuals, s.termination};
}

#ifdef VGSPLAT_HAS_CERES
Run run_ceres(const ColmapModel& m, const BundleOptions& opt, int threads) {
  ColmapModel copy = m;
  const CeresBaSummary s = ceres_bundle_adjust(copy, opt, threads);
  return {s.initial_cost, s.final_cost, s.seconds, s.setup_seconds, s.iterations, s.num_residuals,
          s.linear_solver + ", " + s.termination};
}
#endif

// The solver for a --devices entry, or an empty function with `note` saying why it is skipped.
std::function<Run()> make_solver(const std::string& name, const ColmapModel& m, const BundleOptions& opt,
                                 int threads, std::string& note) {
  if (name == "cpu") return [&m, opt] { return run_ours(m, opt, Device::cpu()); };
  if (name == "cuda") {
    Device dev;
    note = cuda_unavailable(dev);
    if (!note.empty()) return {};
    return [&m, opt, dev] { return run_ours(m, opt, dev); };
  }
#ifdef VGSPLAT_HAS_CERES
  return [&m, opt, threads] { return run_ceres(m, opt, threads); };
#else
  (void)threads;
  note = "ba_bench was built without Ceres Solver";
  return {};
#endif
}

std::vector<Row> run_all(const Args& a, const ColmapModel& m, const BundleOptions& opt, int threads) {
  std::vector<Row> rows;
  for (const std::string& name : a.devices) {
    Row row{name, "", {}};
    std::function<Run()> solve = make_solver(name, m, opt, threads, row.note);
    for (int k = 0; solve && k < a.repeat; ++k) row.runs.push_back(solve());
    rows.push_back(std::move(row));
  }
  return rows;
}

const Run* reference(const std::vector<Row>& rows) {
  for (const Row& r : rows)
    if (!r.runs.empty()) return &r.runs.back();
  return nullptr;
}

double rel_diff(const Run& r, const Run& ref) {
  return (r.final_cost - ref.final_cost) / std::max(std::fabs(ref.final_cost), 1e-300);
}

void print_table(const std::vector<Row>& rows, int images, int points) {
  const Run* ref = reference(rows);
  std::printf("%-6s %10s %7s %8s %6s %14s %14s %10s %9s %10s\n", "solver", "residuals", "images", "points", "iters",
              "initial cost", "final cost", "median s", "setup s", "rel diff");
  for (const Row& row : rows) {
    if (row.runs.empty()) {
      std::printf("%-6s skipped: %s\n", row.solver.c_str(), row.note.c_str());
      continue;
    }
    const Run& r = row.runs.back();
    std::printf("%-6s %10d %7d %8d %6d %14.6e %14.6e %10.4f %9.4f %+10.2e\n", row.solver.c_str(), r.num_residuals,
                images, points, r.iterations, r.initial_cost, r.final_cost, row.median_seconds(), r.setup_seconds,
                rel_diff(r, *ref));
  }
  for (const Row& row : rows)
    if (!row.runs.empty())
      std::printf("  %-6s termination: %s\n", row.solver.c_str(), row.runs.back().termination.c_str());
}

nlohmann::json rows_json(const std::vector<Row>& rows) {
  const Run* ref = reference(rows);
  nlohmann::json out = nlohmann::json::array();
  for (const Row& row : rows) {
    nlohmann::json j = {{"solver", row.solver}};
    if (row.runs.empty()) {
      j["skipped"] = row.note;
    } else {
      const Run& r = row.runs.back();
      std::vector<double> secs;
      for (const Run& x : row.runs) secs.push_back(x.seconds);
      j.update({{"num_residuals", r.num_residuals}, {"iterations", r.iterations}, {"initial_cost", r.initial_cost},
                {"final_cost", r.final_cost}, {"median_seconds", row.median_seconds()}, {"seconds", secs},
                {"setup_seconds", r.setup_seconds}, {"termination", r.termination},
                {"rel_diff_final_cost", rel_diff(r, *ref)}});
    }
    out.push_back(j);
  }
  return out;
}

int bench(const Args& a) {
  auto [model, opt] = read_bundle_problem(a.dir);
  const auto [images, points] = problem_size(model);
  VG_CHECK(images > 0, "bundle-adjustment problem ", a.dir, " has no observations");
  const int threads = num_threads();  // VGSPLAT_THREADS, set from --threads in main
  std::printf("problem %s: %d images, %d points, %zu cameras; loss %s; %d threads, %d run(s) each\n", a.dir.c_str(),
              images, points, model.cameras.size(), bundle_options_json(opt)["loss"].get<std::string>().c_str(),
              threads, a.repeat);
  const std::vector<Row> rows = run_all(a, model, opt, threads);
  print_table(rows, images, points);
  if (!a.json.empty()) {
    const nlohmann::json j = {{"problem", a.dir}, {"images", images},       {"points", points},
                              {"threads", threads}, {"repeat", a.repeat},   {"options", bundle_options_json(opt)},
                              {"solvers", rows_json(rows)}};
    write_file_atomic(a.json, j.dump(2) + "\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  if (a.threads > 0) setenv("VGSPLAT_THREADS", std::to_string(a.threads).c_str(), 1);  // before num_threads()
  try {
    return bench(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ba_bench: %s\n", e.what());
    return 1;
  }
}
