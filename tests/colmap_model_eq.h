// Test helper: two COLMAP models are field-for-field equal (cameras, posed images with their 2D points, points3D
// with colour, error and track).
#pragma once
#include <gtest/gtest.h>

#include "io/colmap.h"

namespace vg::test {

inline void expect_same_model(const ColmapModel& a, const ColmapModel& b) {
  ASSERT_EQ(a.cameras.size(), b.cameras.size());
  for (const auto& [id, c] : a.cameras) {
    const ColmapCamera& d = b.cameras.at(id);
    EXPECT_EQ(c.model, d.model);
    EXPECT_EQ(c.width, d.width);
    EXPECT_EQ(c.height, d.height);
    EXPECT_EQ(c.params, d.params);
  }
  ASSERT_EQ(a.images.size(), b.images.size());
  for (const auto& [id, im] : a.images) {
    const ColmapImage& o = b.images.at(id);
    EXPECT_EQ(im.qvec, o.qvec);
    EXPECT_EQ(im.tvec, o.tvec);
    EXPECT_EQ(im.camera_id, o.camera_id);
    EXPECT_EQ(im.name, o.name);
    EXPECT_EQ(im.xys, o.xys);
    EXPECT_EQ(im.point3D_ids, o.point3D_ids);
  }
  ASSERT_EQ(a.points.size(), b.points.size());
  for (const auto& [id, p] : a.points) {
    const ColmapPoint3D& q = b.points.at(id);
    EXPECT_EQ(p.xyz, q.xyz);
    EXPECT_EQ(p.rgb, q.rgb);
    EXPECT_EQ(p.error, q.error);
    EXPECT_EQ(p.track, q.track);
  }
}

}  // namespace vg::test
