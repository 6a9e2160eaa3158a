#pragma once

namespace mutex_edge::proxy {

/// `mutex-edge [OPTIONS]`: runs the HTTP server until SIGTERM or SIGINT, then drains and returns
/// 0. Returns 2 on bad options and 1 when it cannot start (unusable config, cannot bind), after
/// one clear line on stderr.
int run_serve_command(int argc, const char* const* argv);

}  // namespace mutex_edge::proxy
