// vgsplat command-line entry: subcommands are registered by the files in this folder.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <new>
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
  std::signal(SIGXFSZ, SIG_IGN);  // over `ulimit -f`: a write fails with EFBIG (a clear error), not a kill
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const vg::Interrupted& e) {  // Ctrl-C: what was saved and how to go on
    std::fprintf(stderr, "vgsplat: %s\n", e.what());
    return e.exit_code();  // 130 after SIGINT, 143 after SIGTERM
  } catch (const vg::Error& e) {
    std::fprintf(stderr, "vgsplat: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "vgsplat: error: out of host memory (std::bad_alloc): use a larger --data-factor, fewer "
                         "images or a machine with more memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vgsplat: error: %s\n", e.what());
    return 1;
  }
  return vg::app::exit_code();
}
