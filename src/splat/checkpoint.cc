#include "splat/checkpoint.h"

#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/safetensors.h"

namespace vg {

using nlohmann::json;

namespace {

using TensorMap = std::map<std::string, Tensor>;

// optim.<name>.exp_avg / exp_avg_sq (tensors) and optim.<name>.step (metadata); nothing for an empty state.
void put_adam(const std::string& name, const AdamState& a, TensorMap& tensors, std::map<std::string, std::string>& meta) {
  if (!a.exp_avg.defined()) return;
  tensors["optim." + name + ".exp_avg"] = a.exp_avg;
  tensors["optim." + name + ".exp_avg_sq"] = a.exp_avg_sq;
  meta["optim." + name + ".step"] = std::to_string(a.step);
}

// The Adam state of parameter `param` stored under optim.<name> (empty when the checkpoint has none): F32 moments
// of param's shape and an integer step in the metadata (`meta` throws when the key is missing). `what` names the
// parameter in errors.
AdamState get_adam(const TensorMap& tensors, const std::function<std::string(const std::string&)>& meta,
                   const std::string& file, const std::string& name, const Tensor& param, const std::string& what) {
  AdamState a;
  auto m1 = tensors.find("optim." + name + ".exp_avg"), m2 = tensors.find("optim." + name + ".exp_avg_sq");
  if (m1 == tensors.end() || m2 == tensors.end()) return a;
  VG_CHECK(m1->second.shape() == param.shape() && m2->second.shape() == param.shape() &&
               m1->second.dtype() == DType::F32 && m2->second.dtype() == DType::F32,
           file, ": Adam moments of ", what, " do not match its shape ", shape_str(param.shape()));
  a.exp_avg = m1->second;
  a.exp_avg_sq = m2->second;
  const std::string steps = meta("optim." + name + ".step");
  try {
    a.step = std::stoll(steps);
  } catch (const std::exception&) {
    VG_FAIL(file, ": bad Adam step count '", steps, "' of ", what);
  }
  return a;
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const Checkpoint& ckpt) {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> meta;
  meta["format"] = "vgsplat-checkpoint-1";
  meta["step"] = std::to_string(ckpt.step);
  meta["scene_scale"] = json(ckpt.scene_scale).dump();
  meta["config"] = ckpt.config_json;
  if (!ckpt.strategy_rng.empty()) meta["strategy.rng"] = ckpt.strategy_rng;
  if (!ckpt.run_id.empty()) meta["run_id"] = ckpt.run_id;
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    std::string name = Gaussians::group_name(i);
    tensors["splats." + name] = ckpt.gaussians.group(i);
    put_adam(name, ckpt.adam[i], tensors, meta);
  }
  if (ckpt.pose_adjust.defined()) {  // gsplat's data["pose_adjust"]
    tensors["pose_adjust.embeds"] = ckpt.pose_adjust;
    put_adam("pose_adjust", ckpt.pose_adam, tensors, meta);
  }
  if (ckpt.bilateral_grids.defined()) {  // gsplat's data["post_processing"] (the BilateralGrid's "grids")
    tensors["post_processing.grids"] = ckpt.bilateral_grids;
    put_adam("post_processing", ckpt.bilateral_grid_adam, tensors, meta);
  }
  if (ckpt.strategy.grad2d.defined()) {
    tensors["strategy.grad2d"] = ckpt.strategy.grad2d;
    tensors["strategy.count"] = ckpt.strategy.count;
  }
  save_safetensors(path, tensors, meta);  // atomic
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  std::string file = path.string();
  const SafetensorsFile st = SafetensorsFile::open(path);
  struct {
    std::map<std::string, Tensor> tensors;
    const std::map<std::string, std::string>& meta;
  } p{{}, st.metadata()};
  for (const std::string& k : st.keys()) p.tensors[k] = st.get(k);
  auto meta = [&](const std::string& k) {
    auto it = p.meta.find(k);
    VG_CHECK(it != p.meta.end(), file, ": not a vgsplat checkpoint (no '", k, "' in the metadata)");
    return it->second;
  };
  VG_CHECK(meta("format") == "vgsplat-checkpoint-1", file, ": unknown checkpoint format ", meta("format"));
  Checkpoint c;
  try {
    c.step = std::stoi(meta("step"));
    c.scene_scale = json::parse(meta("scene_scale")).get<float>();
  } catch (const vg::Error&) {
    throw;
  } catch (const std::exception& e) {
    VG_FAIL(file, ": bad checkpoint metadata: ", e.what());
  }
  c.config_json = meta("config");
  if (auto it = p.meta.find("strategy.rng"); it != p.meta.end()) c.strategy_rng = it->second;
  if (auto it = p.meta.find("run_id"); it != p.meta.end()) c.run_id = it->second;
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    std::string name = Gaussians::group_name(i);
    auto it = p.tensors.find("splats." + name);
    VG_CHECK(it != p.tensors.end(), file, ": checkpoint lacks parameter group ", name);
    c.gaussians.group(i) = it->second;
    c.adam[i] = get_adam(p.tensors, meta, file, name, it->second, name);
  }
  // The shapes the trainer indexes by: means/scales/sh0 [N,3], quats [N,4], opacities [N], shN [N,K-1,3]; F32.
  const int ndim[Gaussians::kGroups] = {2, 2, 2, 1, 2, 3}, last[Gaussians::kGroups] = {3, 3, 4, 0, 3, 3};
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    const Tensor& t = c.gaussians.group(i);
    VG_CHECK(t.dtype() == DType::F32 && t.ndim() == ndim[i] && (ndim[i] == 1 || t.size(-1) == last[i]), file,
             ": parameter group ", Gaussians::group_name(i), " has shape ", shape_str(t.shape()), " (",
             dtype_name(t.dtype()), ")");
  }
  int64_t n = c.gaussians.means.size(0);
  for (int i = 0; i < Gaussians::kGroups; ++i)
    VG_CHECK(c.gaussians.group(i).size(0) == n, file, ": parameter group ", Gaussians::group_name(i), " has ",
             c.gaussians.group(i).size(0), " rows, means has ", n);
  auto g2 = p.tensors.find("strategy.grad2d"), cnt = p.tensors.find("strategy.count");
  if (g2 != p.tensors.end() && cnt != p.tensors.end()) {
    VG_CHECK(g2->second.shape() == Shape{n} && cnt->second.shape() == Shape{n} && g2->second.dtype() == DType::F32 &&
                 cnt->second.dtype() == DType::F32,
             file, ": densification statistics of shape ", shape_str(g2->second.shape()), " / ",
             shape_str(cnt->second.shape()), " for ", n, " Gaussians");
    c.strategy.grad2d = g2->second;
    c.strategy.count = cnt->second;
  }
  if (auto pe = p.tensors.find("pose_adjust.embeds"); pe != p.tensors.end()) {
    VG_CHECK(pe->second.ndim() == 2 && pe->second.size(1) == 9 && pe->second.dtype() == DType::F32, file,
             ": pose embedding of shape ", shape_str(pe->second.shape()), " (expected [images, 9], f32)");
    c.pose_adjust = pe->second;
    c.pose_adam = get_adam(p.tensors, meta, file, "pose_adjust", pe->second, "the pose embedding");
  }
  if (auto bg = p.tensors.find("post_processing.grids"); bg != p.tensors.end()) {
    VG_CHECK(bg->second.ndim() == 5 && bg->second.size(1) == 12 && bg->second.dtype() == DType::F32, file,
             ": bilateral grids of shape ", shape_str(bg->second.shape()), " (expected [images, 12, L, H, W], f32)");
    c.bilateral_grids = bg->second;
    c.bilateral_grid_adam = get_adam(p.tensors, meta, file, "post_processing", bg->second, "the bilateral grids");
  }
  c.strategy.scene_scale = c.scene_scale;
  return c;
}

}  // namespace vg
