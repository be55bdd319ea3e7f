// What this kernel lets XDP programs do, where kernels differ by build: the
// generator leaves out what the kernel refuses to every program whatever
// the compiler does (so those refusals are not reported as compiler bugs).
#pragma once

#include "program_generator.hpp"

namespace whistler::torture {

// Probes the kernel (needs CAP_BPF; without it, assumes everything is offered).
GeneratorOptions generator_options_for_this_kernel();

}  // namespace whistler::torture
