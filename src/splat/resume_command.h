// The `vgsplat train ... --ckpt <ckpt>` line that continues an interrupted training: the data and
// result folders plus the flags that differ from the defaults and can be read back from the config.
#pragma once
#include <string>
#include <vector>

#include "splat/train_config.h"

namespace vg {

std::string resume_command(const TrainConfig& cfg, const std::string& ckpt);

// This process's command line (/proc/self/cmdline; empty where it cannot be read).
std::vector<std::string> process_arguments();
// The words joined into one POSIX shell line (quoted where needed), leaving out the flags in `drop_flags`
// and the options in `drop_options` with their values ("--ckpt X" and "--ckpt=X").
std::string shell_command(const std::vector<std::string>& argv, const std::vector<std::string>& drop_flags = {},
                          const std::vector<std::string>& drop_options = {});

}  // namespace vg
