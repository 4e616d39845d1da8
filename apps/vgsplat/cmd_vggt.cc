// Placeholder until the subcommand lands: registers nothing.
#include "apps/vgsplat/commands.h"
namespace vg::app {
void register_vggt(CLI::App&) {}
}  // namespace vg::app
