// Subcommand registry: each cmd_*.cc adds its subcommand; the callback runs inside app.parse().
#pragma once
#include <CLI/CLI.hpp>

namespace vg::app {

void register_commands(CLI::App& app);
void register_info(CLI::App& app);
void register_train(CLI::App& app);   // cmd_train.cc
void register_demo(CLI::App& app);    // cmd_demo.cc
void register_sfm(CLI::App& app);     // cmd_sfm.cc
void register_run(CLI::App& app);     // cmd_run.cc (pipelines P1..P5)
void register_prepare(CLI::App& app); // cmd_prepare.cc
void register_vggt(CLI::App& app);    // cmd_vggt.cc
void register_refine(CLI::App& app);  // cmd_refine.cc
void register_frames(CLI::App& app);  // cmd_frames.cc
void register_render(CLI::App& app);  // cmd_render.cc
void register_export(CLI::App& app);  // cmd_export.cc
void register_view(CLI::App& app);    // cmd_view.cc
void set_exit_code(int code);
int exit_code();

}  // namespace vg::app
