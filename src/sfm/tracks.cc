// Feature tracks: plain union-find over all verified matches; a connected component that holds two
// features of one image (a wrong match joined two tracks) is rebuilt by a constrained union-find that
// merges the best-supported matches first and refuses any merge that would put one image twice in a
// track. Support of a match = number of features matched to both of its ends (triangles in the match
// graph): a correct match inside a long track has many, a wrong match between two tracks has ~none.
#include "sfm/tracks.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace vg {
namespace {

struct UnionFind {
  std::vector<int> parent;
  explicit UnionFind(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  int find(int x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
};

struct Edge {
  int a, b;  // global feature indices
  int support = 0;
};

// Global feature index <-> (image, feature).
struct FeatureIndex {
  std::vector<int> offset;  // per image, plus the total at the end
  std::vector<uint32_t> image_of;
  explicit FeatureIndex(const std::vector<int>& counts) : offset(counts.size() + 1, 0) {
    for (size_t i = 0; i < counts.size(); ++i) {
      VG_CHECK(counts[i] >= 0, "build_tracks: negative feature count for image ", i);
      offset[i + 1] = offset[i] + counts[i];
    }
    image_of.resize(offset.back());
    for (size_t i = 0; i < counts.size(); ++i)
      for (int f = offset[i]; f < offset[i + 1]; ++f) image_of[f] = static_cast<uint32_t>(i);
  }
  int total() const { return offset.back(); }
};

std::vector<Edge> collect_edges(const FeatureIndex& idx, const std::vector<int>& counts,
                                const std::map<std::pair<int, int>, FeatureMatches>& pair_matches) {
  std::vector<Edge> edges;
  const int n = static_cast<int>(counts.size());
  for (const auto& [pair, matches] : pair_matches) {
    auto [i, j] = pair;
    VG_CHECK(i >= 0 && j >= 0 && i < n && j < n && i != j, "build_tracks: bad image pair (", i, ", ", j, ") for ",
             n, " images");
    for (auto [fi, fj] : matches) {
      VG_CHECK(fi >= 0 && fi < counts[i] && fj >= 0 && fj < counts[j], "build_tracks: match (", fi, ", ", fj,
               ") out of range in pair (", i, ", ", j, ")");
      edges.push_back({idx.offset[i] + fi, idx.offset[j] + fj, 0});
    }
  }
  return edges;
}

// Number of common neighbours of each edge's ends (sorted adjacency lists in one CSR array, merge intersection).
void compute_support(std::vector<Edge>& edges, const std::vector<int>& edge_ids, int num_features) {
  std::vector<int> start(static_cast<size_t>(num_features) + 1, 0);
  for (int e : edge_ids) ++start[edges[e].a + 1], ++start[edges[e].b + 1];
  for (int f = 0; f < num_features; ++f) start[f + 1] += start[f];
  std::vector<int> adj(start.back());
  {
    std::vector<int> next(start.begin(), start.end() - 1);
    for (int e : edge_ids) adj[next[edges[e].a]++] = edges[e].b, adj[next[edges[e].b]++] = edges[e].a;
  }
  for (int e : edge_ids)
    for (int v : {edges[e].a, edges[e].b}) std::sort(adj.begin() + start[v], adj.begin() + start[v + 1]);
  for (int e : edge_ids) {
    const int a = edges[e].a, b = edges[e].b;
    int common = 0;
    for (int p = start[a], q = start[b]; p < start[a + 1] && q < start[b + 1];) {
      if (adj[p] < adj[q]) ++p;
      else if (adj[q] < adj[p]) ++q;
      else { ++common; ++p; ++q; }
    }
    edges[e].support = common;
  }
}

// Union-find that only merges two sets whose image sets are disjoint; edges tried by decreasing support.
// images_of_root[r]: the sorted images of root r's set (empty until r is first seen: then its own image).
void constrained_union(std::vector<Edge>& edges, std::vector<int> edge_ids, const FeatureIndex& idx,
                       UnionFind& uf, std::vector<std::vector<uint32_t>>& images_of_root) {
  std::stable_sort(edge_ids.begin(), edge_ids.end(),
                   [&](int x, int y) { return edges[x].support > edges[y].support; });
  auto images = [&](int root) -> std::vector<uint32_t>& {
    std::vector<uint32_t>& v = images_of_root[root];
    if (v.empty()) v.push_back(idx.image_of[root]);
    return v;
  };
  for (int e : edge_ids) {
    int ra = uf.find(edges[e].a), rb = uf.find(edges[e].b);
    if (ra == rb) continue;
    std::vector<uint32_t>& ia = images(ra);
    std::vector<uint32_t>& ib = images(rb);
    bool overlap = false;
    for (size_t p = 0, q = 0; p < ia.size() && q < ib.size() && !overlap;) {
      if (ia[p] < ib[q]) ++p;
      else if (ib[q] < ia[p]) ++q;
      else overlap = true;
    }
    if (overlap) continue;
    std::vector<uint32_t> merged;
    merged.reserve(ia.size() + ib.size());
    std::merge(ia.begin(), ia.end(), ib.begin(), ib.end(), std::back_inserter(merged));
    uf.parent[rb] = ra;
    ia = std::move(merged);
    std::vector<uint32_t>().swap(ib);
  }
}

}  // namespace

std::vector<Track> build_tracks(const std::vector<int>& num_features_per_image,
                                const std::map<std::pair<int, int>, FeatureMatches>& pair_matches,
                                int min_track_length) {
  const FeatureIndex idx(num_features_per_image);
  std::vector<Edge> edges = collect_edges(idx, num_features_per_image, pair_matches);
  const int nf = idx.total();

  // 1. Plain connected components.
  UnionFind plain(nf);
  for (const Edge& e : edges) {
    int ra = plain.find(e.a), rb = plain.find(e.b);
    if (ra != rb) plain.parent[rb] = ra;
  }
  std::vector<int> size(nf, 0);
  std::vector<char> inconsistent(nf, 0);
  {
    // A component is inconsistent when one image appears twice: check (root, image) duplicates.
    std::vector<std::pair<int, uint32_t>> keys;
    for (int f = 0; f < nf; ++f) {
      int r = plain.find(f);
      ++size[r];
      keys.push_back({r, idx.image_of[f]});
    }
    std::sort(keys.begin(), keys.end());
    for (size_t k = 1; k < keys.size(); ++k)
      if (keys[k] == keys[k - 1]) inconsistent[keys[k].first] = 1;
  }

  // 2. Inconsistent components: rebuild with the constrained union-find.
  UnionFind final_uf = plain;
  std::vector<int> bad_edges;
  for (int e = 0; e < static_cast<int>(edges.size()); ++e)
    if (inconsistent[plain.find(edges[e].a)]) bad_edges.push_back(e);
  if (!bad_edges.empty()) {
    for (int e : bad_edges) final_uf.parent[edges[e].a] = edges[e].a, final_uf.parent[edges[e].b] = edges[e].b;
    compute_support(edges, bad_edges, nf);
    std::vector<std::vector<uint32_t>> images_of_root(nf);
    constrained_union(edges, bad_edges, idx, final_uf, images_of_root);
  }

  // 3. Gather tracks, ordered by their first feature; elements ordered by image.
  std::vector<int> track_of_root(nf, -1);
  std::vector<Track> tracks;
  for (int f = 0; f < nf; ++f) {
    int r = final_uf.find(f);
    if (size[plain.find(f)] < 2) continue;  // unmatched feature
    if (track_of_root[r] < 0) {
      track_of_root[r] = static_cast<int>(tracks.size());
      tracks.emplace_back();
    }
    tracks[track_of_root[r]].push_back({idx.image_of[f], static_cast<uint32_t>(f - idx.offset[idx.image_of[f]])});
  }
  std::vector<Track> out;
  out.reserve(tracks.size());
  for (Track& t : tracks) {
    if (static_cast<int>(t.size()) < std::max(min_track_length, 1)) continue;
    std::sort(t.begin(), t.end(), [](const TrackElement& x, const TrackElement& y) {
      return x.image != y.image ? x.image < y.image : x.point2d < y.point2d;
    });
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace vg
