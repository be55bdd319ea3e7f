// `whistler doctor`: is this system ready to run Whistler programs? Kernel
// version, BTF, the BPF filesystem, capabilities, a trial load, the JIT,
// library versions; with the fix for each problem.
#pragma once

namespace whistler {

struct DoctorArgs {
  bool json = false;
};

int doctor_command(const DoctorArgs& args);

}  // namespace whistler
