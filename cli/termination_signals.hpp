// Ctrl-C, SIGTERM and SIGHUP ask the running command to stop (and detach)
// instead of killing it; SIGPIPE is ignored so a closed pipe is an error,
// not a death that skips the cleanup.
#pragma once

namespace whistler {

// Installs the handlers (without SA_RESTART, so waits return EINTR).
void install_termination_handlers();
// Restores the default actions.
void restore_termination_handlers();
bool termination_requested();
int termination_signal();  // the signal that asked, 0 when none

}  // namespace whistler
