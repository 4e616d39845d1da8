// vgsplat command-line entry: subcommands are registered by the files in this folder.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "apps/vgsplat/commands.h"
#include "core/build_info.h"
#include "core/error.h"
#include "core/interrupt.h"

int main(int argc, char** argv) {
  CLI::App app{"vgsplat: photos to camera poses and a trained 3D Gaussian Splatting scene"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(vg::build_version()) + " (" + vg::build_git_commit() + ")");
  vg::app::register_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const vg::Interrupted& e) {  // Ctrl-C: what was saved and how to go on
    std::fprintf(stderr, "vgsplat: %s\n", e.what());
    return vg::kInterruptedExitCode;
  } catch (const vg::Error& e) {
    std::fprintf(stderr, "vgsplat: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vgsplat: error: %s\n", e.what());
    return 1;
  }
  return vg::app::exit_code();
}
