// Exit status of the `whistler` commands.
//   whistler detach --iface IF: kExitOk also when nothing was attached there
//     (it says "nothing to detach: ..."): detaching is idempotent, so cleanup
//     scripts can run it unconditionally; a missing interface is kExitRefused.
//   whistler repl: kExitOk at :quit or the end of input; when the input is not
//     a terminal, kExitProgramErrors if any form failed (so scripts notice);
//     kExitRefused if something it attached could not be detached at the end.
//   whistler doctor: kExitRefused when a check fails (warnings do not count).
//   whistler status: kExitRefused for a missing --iface or a failed query.
#pragma once

namespace whistler {

enum WhistlerExit {
  kExitOk = 0,
  kExitProgramErrors = 1,  // the program does not compile, or the verifier rejected it
  kExitUsage = 2,          // bad command line
  kExitRefused = 3,        // the system refused: interface, attach, load, privileges, pins
  kExitInternal = 4,       // an internal error (an exception that escaped: a bug)
};

}  // namespace whistler
