// whistler: run Whistler programs on live interfaces.
//   whistler run FILE.lisp --iface IF [--mode M] [--prog NAME] [--json] ...
//   whistler repl
//   whistler status [--json]
//   whistler detach --iface IF
//   whistler doctor [--json]

#include <CLI/CLI.hpp>

#include <iostream>
#include <new>

#include "detach_command.hpp"
#include "doctor_command.hpp"
#include "exit_codes.hpp"
#include "repl.hpp"
#include "run_command.hpp"
#include "status_command.hpp"

#ifndef WHISTLER_VERSION
#define WHISTLER_VERSION "0.0.0"
#endif

using namespace whistler;

namespace {

int run(int argc, char** argv) {
  CLI::App app{"Run Whistler (a Lisp for eBPF/XDP) programs on network interfaces.", "whistler"};
  app.set_version_flag("--version", std::string("whistler ") + WHISTLER_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit status: 0 success, 1 errors in the program (compiler or verifier) or an unreadable file,\n"
      "2 bad command line, 3 the system refused (interface, attach, load, privileges, pins),\n"
      "4 internal error.");

  RunArgs run;
  CLI::App* run_cmd = app.add_subcommand("run", "compile FILE, attach it to an interface, show live counters; Ctrl-C detaches");
  run_cmd->add_option("file", run.file, "Whistler source file")->required();
  run_cmd->add_option("--iface,-i", run.iface, "interface to attach to")->required();
  run_cmd->add_option("--mode,-m", run.mode,
                      "xdp (kernel chooses, default), xdpdrv (native), xdpgeneric (generic, any interface), "
                      "xdpoffload (on the NIC)")
      ->check(CLI::IsMember({"xdp", "xdpdrv", "xdpgeneric", "xdpoffload"}));
  run_cmd->add_option("--prog,-p", run.prog, "program to attach when the file defines several");
  run_cmd->add_flag("--json", run.json, "print JSON lines: attached, stats, record, detached, error events");
  run_cmd->add_flag("--replace", run.replace, "replace a program already running there, atomically (no traffic gap)");
  run_cmd->add_option("--persist", run.persist,
                      "keep the program attached after exit: link (a BPF link pinned under $WHISTLER_BPFFS or "
                      "/sys/fs/bpf/whistler) or netlink")
      ->check(CLI::IsMember({"link", "netlink"}));
  run_cmd->add_option("--interval", run.interval, "seconds between status lines (default 1)");
  run_cmd->add_option("--duration", run.duration, "detach and exit after this many seconds (default: at Ctrl-C)");
  run_cmd->add_flag("--no-counters", run.no_counters, "do not add the per-verdict counters to the program");
  run_cmd->add_flag("-v,--verbose", run.verbose, "show the raw verifier log and the kernel's and libbpf's messages");
  run_cmd->add_option("-O", run.opt_level, "optimisation level, 0 to 3 (default 2)")->check(CLI::Range(0, 3));
  run_cmd->add_option("-I", run.include_dirs, "add a directory searched by (include \"FILE\")")->allow_extra_args(false);
  run_cmd->add_option("-D", run.defines, "define a constant: -D NAME=VALUE")->allow_extra_args(false);

  ReplArgs repl;
  CLI::App* repl_cmd = app.add_subcommand("repl", "interactive session: define programs, attach, read maps, test-run");
  repl_cmd->add_option("--history", repl.history_file, "history file (default ~/.whistler_history)");
  repl_cmd->add_flag("-v,--verbose", repl.verbose, "show raw verifier logs and kernel messages");
  repl_cmd->add_option("-I", repl.include_dirs, "add a directory searched by (include \"FILE\")")->allow_extra_args(false);
  repl_cmd->add_option("--load", repl.load_files, "read FILE's definitions first")->allow_extra_args(false);

  StatusArgs status;
  CLI::App* status_cmd = app.add_subcommand("status", "which XDP programs run on which interface, and Whistler's pins");
  status_cmd->add_flag("--json", status.json, "print JSON");
  status_cmd->add_option("--iface,-i", status.iface, "only this interface");

  DetachArgs detach;
  CLI::App* detach_cmd = app.add_subcommand("detach", "detach the XDP program(s) of an interface, and Whistler's pins for it");
  detach_cmd->add_option("--iface,-i", detach.iface, "interface")->required();
  detach_cmd->add_option("--mode,-m", detach.mode, "only the program in this mode (xdpdrv, xdpgeneric, xdpoffload)")
      ->check(CLI::IsMember({"xdp", "xdpdrv", "xdpgeneric", "xdpoffload"}));
  detach_cmd->add_flag("--json", detach.json, "print JSON");

  DoctorArgs doctor;
  CLI::App* doctor_cmd = app.add_subcommand("doctor", "check the kernel, BTF, bpffs, capabilities and libraries; say how to fix problems");
  doctor_cmd->add_flag("--json", doctor.json, "print JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }

  if (run_cmd->parsed()) return run_command(run);
  if (repl_cmd->parsed()) return repl_command(repl);
  if (status_cmd->parsed()) return status_command(status);
  if (detach_cmd->parsed()) return detach_command(detach);
  if (doctor_cmd->parsed()) return doctor_command(doctor);
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  // The last resort: every failure should be a message of its own, but an
  // exception that escapes is reported as a bug rather than ending in abort().
  try {
    return run(argc, argv);
  } catch (const std::bad_alloc&) {
    std::cerr << "whistler: internal error: out of memory\n";
  } catch (const std::exception& e) {
    std::cerr << "whistler: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "whistler: internal error: an unexpected exception\n";
  }
  return kExitInternal;
}
