// The `vgsplat train ... --ckpt <ckpt>` line that continues an interrupted training: the data and
// result folders plus the flags that differ from the defaults and can be read back from the config.
#pragma once
#include <string>

#include "splat/train_config.h"

namespace vg {

std::string resume_command(const TrainConfig& cfg, const std::string& ckpt);

}  // namespace vg
