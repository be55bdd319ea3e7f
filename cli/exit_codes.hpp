// Exit status of the `whistler` commands.
#pragma once

namespace whistler {

enum WhistlerExit {
  kExitOk = 0,
  kExitProgramErrors = 1,  // the program does not compile, or the verifier rejected it
  kExitUsage = 2,          // bad command line
  kExitRefused = 3,        // the system refused: interface, attach, load, privileges, pins
};

}  // namespace whistler
