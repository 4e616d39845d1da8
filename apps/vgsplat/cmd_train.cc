#include "apps/vgsplat/commands.h"
namespace vg::app {
void register_train(CLI::App&) {}
}  // namespace vg::app
