// Placeholder until the subcommand lands: registers nothing.
#include "apps/vgsplat/commands.h"
namespace vg::app {
void register_sfm(CLI::App&) {}
}  // namespace vg::app
