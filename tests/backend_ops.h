// The backend-ops harness (the ggml test-backend-ops pattern): every op registers a case that
// builds seeded random inputs on a given device, runs the op and returns its named outputs.
// backend_ops_test.cc runs each case on the CPU reference and on every CUDA device and compares
// all outputs by relative L2 error. Cases live in tests/ops/<family>_ops.cc.
#pragma once
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/tensor.h"

namespace vg::test {

using OpOutputs = std::map<std::string, Tensor>;  // output name -> tensor (any device)

// Thrown by a case whose input is not here (a scene missing from $VGSPLAT_DATA): the case is skipped, not failed.
struct OpInputMissing : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct OpCase {
  std::string name;                          // "preprocess_forward/n=1000/sh3"
  std::function<OpOutputs(Device)> run;      // must be deterministic given the device
  double tolerance = 1e-4;                   // max relative L2 error, CUDA vs CPU
};

std::vector<OpCase>& op_registry();

struct RegisterOps {
  explicit RegisterOps(std::function<void(std::vector<OpCase>&)> add) { add(op_registry()); }
};

}  // namespace vg::test
