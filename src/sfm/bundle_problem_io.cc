// A bundle-adjustment problem as files: a COLMAP binary model plus ba_options.json (format
// "vgsplat-ba-problem-1"), written into a folder built beside the target and renamed over it.
#include "sfm/bundle_problem_io.h"

#include <unistd.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"
#include "core/fs.h"

namespace vg {
namespace {

constexpr const char* kFormat = "vgsplat-ba-problem-1";
constexpr const char* kOptionsFile = "ba_options.json";
constexpr const char* kLossNames[] = {"trivial", "huber", "cauchy", "soft_l1"};

// The keys bundle_options_json writes; reading requires exactly these.
const char* const kKeys[] = {"format", "loss", "loss_scale", "max_iterations", "function_tolerance",
                             "gradient_tolerance", "parameter_tolerance", "refine_focal", "refine_principal_point",
                             "refine_extra_params", "constant_poses", "constant_cameras", "fix_gauge_automatically",
                             "constant_points"};

const nlohmann::json& field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  VG_CHECK(it != j.end(), "ba options: missing field \"", key, "\"");
  return *it;
}

bool get_bool(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = field(j, key);
  VG_CHECK(v.is_boolean(), "ba options: field \"", key, "\" must be true or false, got ", v.dump());
  return v.get<bool>();
}

double get_nonnegative(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = field(j, key);
  VG_CHECK(v.is_number(), "ba options: field \"", key, "\" must be a number, got ", v.dump());
  const double x = v.get<double>();
  VG_CHECK(std::isfinite(x) && x >= 0, "ba options: field \"", key, "\" must be finite and >= 0, got ", v.dump());
  return x;
}

BundleOptions::Loss get_loss(const nlohmann::json& j) {
  const nlohmann::json& v = field(j, "loss");
  if (v.is_string())
    for (int k = 0; k < 4; ++k)
      if (v.get<std::string>() == kLossNames[k]) return static_cast<BundleOptions::Loss>(k);
  VG_FAIL("ba options: field \"loss\" must be one of trivial, huber, cauchy, soft_l1, got ", v.dump());
}

std::set<uint32_t> get_ids(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = field(j, key);
  VG_CHECK(v.is_array(), "ba options: field \"", key, "\" must be an array of ids, got ", v.dump());
  std::set<uint32_t> ids;
  for (const nlohmann::json& e : v) {
    VG_CHECK(e.is_number_unsigned() && e.get<uint64_t>() <= std::numeric_limits<uint32_t>::max(),
             "ba options: field \"", key, "\" holds ", e.dump(), ", not an id (0 .. 2^32-1)");
    ids.insert(static_cast<uint32_t>(e.get<uint64_t>()));
  }
  return ids;
}

void check_keys(const nlohmann::json& j) {
  VG_CHECK(j.is_object(), "ba options: expected a JSON object, got ", j.dump());
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const char* k : kKeys) known = known || key == k;
    VG_CHECK(known, "ba options: unknown field \"", key, "\"");
  }
  const nlohmann::json& f = field(j, "format");
  VG_CHECK(f.is_string() && f.get<std::string>() == kFormat, "ba options: field \"format\" must be \"", kFormat,
           "\", got ", f.dump());
}

// <parent>/.<name>.tmp-<pid>: a sibling, so the final rename stays on one file system.
std::filesystem::path temp_sibling(const std::filesystem::path& dir, const char* tag) {
  const std::filesystem::path abs = std::filesystem::absolute(dir).lexically_normal();
  const std::filesystem::path clean = abs.has_filename() ? abs : abs.parent_path();
  std::string name = ".";  // built by appending (GCC 12 warns falsely on "." + std::string)
  name += clean.filename().string();
  name += tag;
  name += std::to_string(::getpid());
  return clean.parent_path() / name;
}

}  // namespace

nlohmann::json bundle_options_json(const BundleOptions& opt) {
  return {{"format", kFormat},
          {"loss", kLossNames[static_cast<int>(opt.loss)]},
          {"loss_scale", opt.loss_scale},
          {"max_iterations", opt.max_iterations},
          {"function_tolerance", opt.function_tolerance},
          {"gradient_tolerance", opt.gradient_tolerance},
          {"parameter_tolerance", opt.parameter_tolerance},
          {"refine_focal", opt.refine_focal},
          {"refine_principal_point", opt.refine_principal_point},
          {"refine_extra_params", opt.refine_extra_params},
          {"constant_poses", opt.constant_poses},
          {"constant_cameras", opt.constant_cameras},
          {"fix_gauge_automatically", opt.fix_gauge_automatically},
          {"constant_points", opt.constant_points}};
}

BundleOptions bundle_options_from_json(const nlohmann::json& j) {
  check_keys(j);
  BundleOptions opt;
  opt.loss = get_loss(j);
  opt.loss_scale = get_nonnegative(j, "loss_scale");
  VG_CHECK(opt.loss_scale > 0, "ba options: field \"loss_scale\" must be > 0");
  const nlohmann::json& it = field(j, "max_iterations");
  VG_CHECK(it.is_number_integer() && it.get<int64_t>() >= 0 && it.get<int64_t>() <= std::numeric_limits<int>::max(),
           "ba options: field \"max_iterations\" must be an integer >= 0, got ", it.dump());
  opt.max_iterations = it.get<int>();
  opt.function_tolerance = get_nonnegative(j, "function_tolerance");
  opt.gradient_tolerance = get_nonnegative(j, "gradient_tolerance");
  opt.parameter_tolerance = get_nonnegative(j, "parameter_tolerance");
  opt.refine_focal = get_bool(j, "refine_focal");
  opt.refine_principal_point = get_bool(j, "refine_principal_point");
  opt.refine_extra_params = get_bool(j, "refine_extra_params");
  opt.constant_poses = get_ids(j, "constant_poses");
  opt.constant_cameras = get_ids(j, "constant_cameras");
  opt.fix_gauge_automatically = get_bool(j, "fix_gauge_automatically");
  opt.constant_points = get_bool(j, "constant_points");
  return opt;
}

void write_bundle_problem(const std::filesystem::path& dir, const ColmapModel& m, const BundleOptions& opt) {
  namespace fs = std::filesystem;
  const fs::path tmp = temp_sibling(dir, ".tmp-"), old = temp_sibling(dir, ".old-");
  fs::remove_all(tmp);
  fs::remove_all(old);
  try {
    fs::create_directories(tmp);
    write_colmap_bin(tmp, m);
    write_file_atomic(tmp / kOptionsFile, bundle_options_json(opt).dump(2) + "\n");
    // Move an existing folder aside first: rename() cannot replace a non-empty directory.
    if (fs::exists(dir)) fs::rename(dir, old);
    fs::rename(tmp, dir);
    fs::remove_all(old);
  } catch (const fs::filesystem_error& e) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    VG_FAIL("cannot write bundle-adjustment problem ", dir.string(), ": ", e.what());
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
}

std::pair<ColmapModel, BundleOptions> read_bundle_problem(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  VG_CHECK(fs::is_directory(dir), "bundle-adjustment problem ", dir.string(), " is not a folder");
  for (const char* f : {"cameras.bin", "images.bin", "points3D.bin", kOptionsFile})
    VG_CHECK(fs::exists(dir / f), "bundle-adjustment problem ", dir.string(), " has no ", f);
  const fs::path opt_file = dir / kOptionsFile;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(opt_file));
  } catch (const nlohmann::json::exception& e) {
    VG_FAIL("cannot parse ", opt_file.string(), ": ", e.what());
  }
  BundleOptions opt;
  try {
    opt = bundle_options_from_json(j);
  } catch (const Error& e) {
    VG_FAIL(opt_file.string(), ": ", e.what());
  }
  return {read_colmap_bin(dir), opt};
}

}  // namespace vg
