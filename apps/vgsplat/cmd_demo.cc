#include "apps/vgsplat/commands.h"
namespace vg::app {
void register_demo(CLI::App&) {}
}  // namespace vg::app
