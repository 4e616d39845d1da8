#include "apps/vgsplat/commands.h"

namespace vg::app {
namespace {
int g_exit_code = 0;
}
void set_exit_code(int code) { g_exit_code = code; }
int exit_code() { return g_exit_code; }

void register_commands(CLI::App& app) {
  register_info(app);
  register_train(app);
  register_demo(app);
  register_sfm(app);
  register_run(app);
  register_prepare(app);
  register_vggt(app);
  register_refine(app);
  register_frames(app);
  register_render(app);
  register_export(app);
  register_view(app);
}
}  // namespace vg::app
