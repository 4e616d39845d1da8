// CPU bundle-adjustment backend: residuals, Jacobians and the Schur complement on the points assembled
// in parallel (parallel_for over points, per-chunk buffers merged in a fixed order), the reduced camera
// system S dc = b solved by Eigen's SimplicialLDLT, points back-substituted.
#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/error.h"
#include "core/parallel.h"
#include "sfm/bundle_adjustment_math.h"
#include "sfm/bundle_adjustment_problem.h"

namespace vg::ba {
namespace {

constexpr int64_t kGrain = 128;  // points per parallel chunk

// Runs f(begin, end, buf) over chunks of [0, n) with a zeroed per-chunk buffer of `size` doubles and sums
// the buffers in chunk order (deterministic for a given thread count).
template <typename F>
std::vector<double> chunked_sum(int64_t n, size_t size, F&& f) {
  std::mutex m;
  std::map<int64_t, std::vector<double>> parts;
  parallel_for(
      n,
      [&](int64_t b, int64_t e) {
        std::vector<double> buf(size, 0.0);
        f(b, e, buf.data());
        std::lock_guard<std::mutex> lock(m);
        parts[b] = std::move(buf);
      },
      kGrain);
  std::vector<double> out(size, 0.0);
  for (auto& [b, v] : parts)
    for (size_t i = 0; i < size; ++i) out[i] += v[i];
  return out;
}

struct ObsLin {
  double r[2], J_pose[12], J_cam[2 * kMaxCamParams], J_pt[6];
};

class CpuSolver final : public Solver {
 public:
  explicit CpuSolver(const Problem& p) : p_(p), cand_(p) {
    ncv_ = p_.num_cam_vars();
    lin_.resize(p_.num_obs);
    V_.assign(9 * p_.num_points, 0);
    Vinv_.assign(9 * p_.num_points, 0);
    gp_.assign(3 * p_.num_points, 0);
    dp_.assign(3 * p_.num_points, 0);
    build_structure();
  }

  double linearize() override {
    const int P = p_.num_points;
    const size_t n = ncv_ * 2 + 3 * P + 1;  // g_cam | diag_cam | diag_pt | cost
    std::vector<double> acc = chunked_sum(P, n, [&](int64_t b, int64_t e, double* buf) {
      double* g = buf;
      double* dg = buf + ncv_;
      double* dpt = buf + 2 * ncv_;
      for (int64_t j = b; j < e; ++j) {
        double* V = &V_[9 * j];
        double* gp = &gp_[3 * j];
        std::fill(V, V + 9, 0.0), std::fill(gp, gp + 3, 0.0);
        for (int o = p_.point_obs[j]; o < p_.point_obs[j + 1]; ++o) {
          ObsLin& L = lin_[o];
          const int i = p_.obs_image[o], c = p_.image_camera[i];
          buf[n - 1] += linearize_obs(p_.cam_model[c], &p_.cam_params[kMaxCamParams * c], &p_.poses[7 * i],
                                      &p_.poses[7 * i + 4], &p_.points[3 * j], &p_.obs_xy[2 * o], p_.loss,
                                      p_.loss_scale, &p_.pose_free[6 * i], &p_.cam_free[kMaxCamParams * c], L.r,
                                      L.J_pose, L.J_cam, L.J_pt);
          if (!p_.points_free) std::fill(L.J_pt, L.J_pt + 6, 0.0);
          for (int a = 0; a < 3; ++a) {
            gp[a] += L.J_pt[a] * L.r[0] + L.J_pt[3 + a] * L.r[1];
            for (int bb = 0; bb < 3; ++bb) V[3 * a + bb] += L.J_pt[a] * L.J_pt[bb] + L.J_pt[3 + a] * L.J_pt[3 + bb];
          }
          for (int k = 0; k < 6; ++k) {
            g[6 * i + k] += L.J_pose[k] * L.r[0] + L.J_pose[6 + k] * L.r[1];
            dg[6 * i + k] += L.J_pose[k] * L.J_pose[k] + L.J_pose[6 + k] * L.J_pose[6 + k];
          }
          const int co = p_.cam_offset(c);
          for (int k = 0; k < kMaxCamParams; ++k) {
            const double j0 = L.J_cam[k], j1 = L.J_cam[kMaxCamParams + k];
            g[co + k] += j0 * L.r[0] + j1 * L.r[1];
            dg[co + k] += j0 * j0 + j1 * j1;
          }
        }
        for (int a = 0; a < 3; ++a) dpt[3 * j + a] = V[4 * a];
      }
    });
    gc_.assign(acc.begin(), acc.begin() + ncv_);
    diag_c_.assign(acc.begin() + ncv_, acc.begin() + 2 * ncv_);
    diag_p_.assign(acc.begin() + 2 * ncv_, acc.begin() + 2 * ncv_ + 3 * P);
    if (scale_c_.empty()) {  // Jacobi scaling, fixed at iteration 0 as Ceres does
      for (double d : diag_c_) scale_c_.push_back(1 / (1 + std::sqrt(d)));
      for (double d : diag_p_) scale_p_.push_back(1 / (1 + std::sqrt(d)));
    }
    return acc[n - 1];
  }

  double gradient_max_norm() override {
    double m = 0;
    for (double g : gc_) m = std::max(m, std::fabs(g));
    for (double g : gp_) m = std::max(m, std::fabs(g));
    return m;
  }

  StepResult step(double radius) override {
    StepResult res;
    std::vector<double> dc;
    if (!solve_reduced(radius, dc)) return res;
    back_substitute(dc);
    // Model decrease -(g.dx + 0.5 |J dx|^2) = -(r.Jdx + 0.5 |Jdx|^2), and the candidate point.
    std::vector<double> acc = chunked_sum(p_.num_points, 1, [&](int64_t b, int64_t e, double* buf) {
      for (int64_t j = b; j < e; ++j)
        for (int o = p_.point_obs[j]; o < p_.point_obs[j + 1]; ++o) {
          double jd[2];
          obs_jdx(o, dc, jd);
          for (int k = 0; k < 2; ++k) jd[k] += lin_[o].J_pt[3 * k] * dp_[3 * j] + lin_[o].J_pt[3 * k + 1] * dp_[3 * j + 1] +
                                              lin_[o].J_pt[3 * k + 2] * dp_[3 * j + 2];
          buf[0] += lin_[o].r[0] * jd[0] + lin_[o].r[1] * jd[1] + 0.5 * (jd[0] * jd[0] + jd[1] * jd[1]);
        }
    });
    res.model_cost_change = -acc[0];
    double sn = 0, xn = 0;
    for (double d : dc) sn += d * d;
    for (double d : dp_) sn += d * d;
    for (double v : p_.poses) xn += v * v;
    for (double v : p_.cam_params) xn += v * v;
    for (double v : p_.points) xn += v * v;
    res.step_norm = std::sqrt(sn), res.x_norm = std::sqrt(xn);
    make_candidate(dc);
    res.candidate_cost = cost_of(cand_);
    res.valid = std::isfinite(res.model_cost_change) && res.model_cost_change > 0;
    return res;
  }

  void accept() override {
    std::swap(p_.poses, cand_.poses);
    std::swap(p_.cam_params, cand_.cam_params);
    std::swap(p_.points, cand_.points);
  }
  double cost() override { return cost_of(p_); }
  void download(Problem& out) override {
    out.poses = p_.poses, out.cam_params = p_.cam_params, out.points = p_.points;
  }

 private:
  // Camera-side blocks: image i -> block i (offset 6 i, size 6); camera c -> block I + c (size 8);
  // -1 where every parameter of the block is fixed.
  int pose_block(int i) const {
    for (int k = 0; k < 6; ++k)
      if (p_.pose_free[6 * i + k]) return i;
    return -1;
  }
  int cam_block(int c) const { return cam_active_[c] > 0 ? p_.num_images + c : -1; }
  int block_offset(int b) const { return b < p_.num_images ? 6 * b : p_.cam_offset(b - p_.num_images); }
  // A camera block spans its parameters up to the last free one (the rest only get the LM diagonal).
  int block_size(int b) const { return b < p_.num_images ? 6 : cam_active_[b - p_.num_images]; }

  // Per point: its distinct blocks (sorted) and the value slot of every block pair (m x m, a <= b used).
  void build_structure() {
    cam_active_.assign(p_.num_cameras, 0);
    for (int c = 0; c < p_.num_cameras; ++c)
      for (int k = 0; k < kMaxCamParams; ++k)
        if (p_.cam_free[kMaxCamParams * c + k]) cam_active_[c] = k + 1;
    std::unordered_map<int64_t, int64_t> slot_of;
    const int64_t NB = p_.num_images + p_.num_cameras;
    pt_blocks_off_.push_back(0), pt_pairs_off_.push_back(0);
    for (int j = 0; j < p_.num_points; ++j) {
      std::vector<int> B;
      for (int o = p_.point_obs[j]; o < p_.point_obs[j + 1]; ++o) {
        int i = p_.obs_image[o];
        for (int b : {pose_block(i), cam_block(p_.image_camera[i])})
          if (b >= 0 && std::find(B.begin(), B.end(), b) == B.end()) B.push_back(b);
      }
      std::sort(B.begin(), B.end());
      const int m = static_cast<int>(B.size());
      for (int x = 0; x < m; ++x)
        for (int y = 0; y < m; ++y) {
          int64_t slot = -1;
          if (x <= y) {
            int64_t key = B[x] * NB + B[y];
            auto it = slot_of.find(key);
            if (it == slot_of.end()) {
              it = slot_of.emplace(key, nnz_).first;
              pairs_.push_back({B[x], B[y], nnz_});
              nnz_ += block_size(B[x]) * block_size(B[y]);
            }
            slot = it->second;
          }
          pt_pairs_.push_back(slot);
        }
      pt_blocks_.insert(pt_blocks_.end(), B.begin(), B.end());
      pt_blocks_off_.push_back(static_cast<int>(pt_blocks_.size()));
      pt_pairs_off_.push_back(static_cast<int64_t>(pt_pairs_.size()));
    }
  }

  // J_{o,b} as a (2 x size) row-major pointer and stride for block b of observation o (nullptr if none).
  const double* obs_block_jac(int o, int b, int& stride) const {
    const int i = p_.obs_image[o];
    if (b == i) return stride = 6, lin_[o].J_pose;
    if (b == p_.num_images + p_.image_camera[i]) return stride = kMaxCamParams, lin_[o].J_cam;
    return nullptr;
  }

  // u = J_cam-side(o) dc (2-vector).
  void obs_jdx(int o, const std::vector<double>& dc, double* u) const {
    const int i = p_.obs_image[o], co = p_.cam_offset(p_.image_camera[i]);
    const ObsLin& L = lin_[o];
    for (int k = 0; k < 2; ++k) {
      double s = 0;
      for (int a = 0; a < 6; ++a) s += L.J_pose[6 * k + a] * dc[6 * i + a];
      for (int a = 0; a < kMaxCamParams; ++a) s += L.J_cam[kMaxCamParams * k + a] * dc[co + a];
      u[k] = s;
    }
  }

  // Assembles S = A + D_c - W V^-1 W^T and b = -g_c + W V^-1 g_p, then solves S dc = b.
  bool solve_reduced(double radius, std::vector<double>& dc) {
    const int P = p_.num_points;
    std::vector<double> acc = chunked_sum(P, nnz_ + ncv_, [&](int64_t b0, int64_t e, double* buf) {
      double* S = buf;
      double* rhs = buf + nnz_;
      for (int64_t j = b0; j < e; ++j) schur_point(static_cast<int>(j), radius, S, rhs);
    });
    std::vector<Eigen::Triplet<double>> trip;
    trip.reserve(nnz_ + ncv_);
    for (const Pair& pr : pairs_) {
      const int oa = block_offset(pr.a), ob = block_offset(pr.b), na = block_size(pr.a), nb = block_size(pr.b);
      for (int x = 0; x < na; ++x)
        for (int y = 0; y < nb; ++y) {
          int row = ob + y, col = oa + x;  // lower triangle: block b >= block a
          if (row < col) continue;
          trip.emplace_back(row, col, acc[pr.slot + x * nb + y]);
        }
    }
    for (int k = 0; k < ncv_; ++k) {
      const double s = scale_c_[k];
      trip.emplace_back(k, k, lm_diag(diag_c_[k], s, radius));
    }
    Eigen::SparseMatrix<double> S(ncv_, ncv_);
    S.setFromTriplets(trip.begin(), trip.end());
    if (!analyzed_) ldlt_.analyzePattern(S), analyzed_ = true;
    ldlt_.factorize(S);
    if (ldlt_.info() != Eigen::Success) return false;
    Eigen::VectorXd b = Eigen::Map<const Eigen::VectorXd>(acc.data() + nnz_, ncv_);
    Eigen::VectorXd x = ldlt_.solve(b);
    if (ldlt_.info() != Eigen::Success || !x.allFinite()) return false;
    dc.assign(x.data(), x.data() + ncv_);
    return true;
  }

  // One point's share of S and b (A terms of its observations, minus W V^-1 W^T), and its V^-1.
  void schur_point(int j, double radius, double* S, double* rhs) {
    double* Vi = &Vinv_[9 * j];
    std::fill(Vi, Vi + 9, 0.0);
    if (p_.points_free) {
      double Vd[9];
      std::copy(&V_[9 * j], &V_[9 * j] + 9, Vd);
      for (int a = 0; a < 3; ++a) Vd[4 * a] += lm_diag(diag_p_[3 * j + a], scale_p_[3 * j + a], radius);
      if (!inverse3(Vd, Vi)) std::fill(Vi, Vi + 9, 0.0);
    }
    double z[3] = {0, 0, 0};  // V^-1 g_p
    for (int a = 0; a < 3; ++a)
      for (int c = 0; c < 3; ++c) z[a] += Vi[3 * a + c] * gp_[3 * j + c];
    const int* B = &pt_blocks_[pt_blocks_off_[j]];
    const int m = pt_blocks_off_[j + 1] - pt_blocks_off_[j];
    const int64_t* slots = &pt_pairs_[pt_pairs_off_[j]];
    // W_b = sum_o J_ob^T Jp_o per distinct block b of the point.
    std::vector<std::array<double, kMaxCamParams * 3>> Wv(m);
    for (auto& w : Wv) w.fill(0.0);
    for (int o = p_.point_obs[j]; o < p_.point_obs[j + 1]; ++o) {
      const ObsLin& L = lin_[o];
      // e = r - Jp z: the rhs gets -J_ob^T e.
      double e[2];
      for (int k = 0; k < 2; ++k) e[k] = L.r[k] - (L.J_pt[3 * k] * z[0] + L.J_pt[3 * k + 1] * z[1] + L.J_pt[3 * k + 2] * z[2]);
      int xs[2], n = 0;
      for (int x = 0; x < m; ++x) {
        int st;
        if (obs_block_jac(o, B[x], st)) xs[n++] = x;
      }
      for (int q = 0; q < n; ++q) {
        int ta = 0;  // row stride of J_oa
        const int x = xs[q], sa = block_size(B[x]);
        const double* Ja = obs_block_jac(o, B[x], ta);
        const int off = block_offset(B[x]);
        for (int a = 0; a < sa; ++a) {
          rhs[off + a] -= Ja[a] * e[0] + Ja[ta + a] * e[1];
          for (int c = 0; c < 3; ++c) Wv[x][3 * a + c] += Ja[a] * L.J_pt[c] + Ja[ta + a] * L.J_pt[3 + c];
        }
        for (int q2 = 0; q2 < n; ++q2) {  // A_xy += J_ox^T J_oy for x <= y
          const int y = xs[q2];
          if (y < x) continue;
          int tb = 0;
          const double* Jb = obs_block_jac(o, B[y], tb);
          const int sb = block_size(B[y]);
          double* blk = S + slots[x * m + y];
          for (int a = 0; a < sa; ++a)
            for (int c = 0; c < sb; ++c) blk[a * sb + c] += Ja[a] * Jb[c] + Ja[ta + a] * Jb[tb + c];
        }
      }
    }
    if (!p_.points_free) return;
    for (int x = 0; x < m; ++x) {
      const int sa = block_size(B[x]);
      double WV[kMaxCamParams * 3];  // W_x V^-1
      for (int a = 0; a < sa; ++a)
        for (int c = 0; c < 3; ++c)
          WV[3 * a + c] = Wv[x][3 * a] * Vi[c] + Wv[x][3 * a + 1] * Vi[3 + c] + Wv[x][3 * a + 2] * Vi[6 + c];
      for (int y = x; y < m; ++y) {
        const int sb = block_size(B[y]);
        double* blk = S + slots[x * m + y];
        for (int a = 0; a < sa; ++a)
          for (int c = 0; c < sb; ++c)
            blk[a * sb + c] -= WV[3 * a] * Wv[y][3 * c] + WV[3 * a + 1] * Wv[y][3 * c + 1] + WV[3 * a + 2] * Wv[y][3 * c + 2];
      }
    }
  }

  // dp = -V^-1 (g_p + sum_o Jp_o^T J_oc dc).
  void back_substitute(const std::vector<double>& dc) {
    parallel_for(
        p_.num_points,
        [&](int64_t b, int64_t e) {
          for (int64_t j = b; j < e; ++j) {
            double h[3] = {gp_[3 * j], gp_[3 * j + 1], gp_[3 * j + 2]};
            for (int o = p_.point_obs[j]; o < p_.point_obs[j + 1]; ++o) {
              double u[2];
              obs_jdx(o, dc, u);
              for (int a = 0; a < 3; ++a) h[a] += lin_[o].J_pt[a] * u[0] + lin_[o].J_pt[3 + a] * u[1];
            }
            const double* Vi = &Vinv_[9 * j];
            for (int a = 0; a < 3; ++a) dp_[3 * j + a] = -(Vi[3 * a] * h[0] + Vi[3 * a + 1] * h[1] + Vi[3 * a + 2] * h[2]);
          }
        },
        kGrain);
  }

  void make_candidate(const std::vector<double>& dc) {
    for (int i = 0; i < p_.num_images; ++i) {
      double* q = &cand_.poses[7 * i];
      std::copy(&p_.poses[7 * i], &p_.poses[7 * i] + 7, q);
      quat_left_update(&dc[6 * i], q);
      for (int k = 0; k < 3; ++k) q[4 + k] += dc[6 * i + 3 + k];
    }
    for (int c = 0; c < p_.num_cameras; ++c)
      for (int k = 0; k < kMaxCamParams; ++k)
        cand_.cam_params[kMaxCamParams * c + k] = p_.cam_params[kMaxCamParams * c + k] + dc[p_.cam_offset(c) + k];
    for (size_t k = 0; k < p_.points.size(); ++k) cand_.points[k] = p_.points[k] + dp_[k];
  }

  double cost_of(const Problem& x) const {
    return chunked_sum(x.num_points, 1, [&](int64_t b, int64_t e, double* buf) {
      for (int64_t j = b; j < e; ++j)
        for (int o = x.point_obs[j]; o < x.point_obs[j + 1]; ++o) {
          const int i = x.obs_image[o], c = x.image_camera[i];
          buf[0] += obs_cost(x.cam_model[c], &x.cam_params[kMaxCamParams * c], &x.poses[7 * i], &x.poses[7 * i + 4],
                             &x.points[3 * j], &x.obs_xy[2 * o], x.loss, x.loss_scale);
        }
    })[0];
  }

  struct Pair {
    int a, b;
    int64_t slot;
  };
  Problem p_, cand_;
  int ncv_ = 0;
  std::vector<ObsLin> lin_;
  std::vector<double> V_, Vinv_, gp_, dp_, gc_, diag_c_, diag_p_, scale_c_, scale_p_;
  std::vector<int> pt_blocks_, pt_blocks_off_, cam_active_;
  std::vector<int64_t> pt_pairs_, pt_pairs_off_;
  std::vector<Pair> pairs_;
  int64_t nnz_ = 0;
  Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>, Eigen::Lower> ldlt_;
  bool analyzed_ = false;
};

}  // namespace

std::unique_ptr<Solver> make_cpu_solver(const Problem& p) { return std::make_unique<CpuSolver>(p); }

}  // namespace vg::ba
