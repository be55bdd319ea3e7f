#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace whistler;

TEST_CASE("the seed's drop-9999 program compiles to a small object") {
  std::string diags;
  auto out = test::compile_text(R"((defprog drop-9999 (:type :xdp :section "xdp/drop_9999")
  (with-tcp (data data-end tcp)
    (when (= (tcp-dst-port tcp) 9999)
      (return XDP_DROP)))
  XDP_PASS))",
                                diags);
  REQUIRE_MESSAGE(out.ok, diags);
  REQUIRE(out.programs.size() == 1);
  CHECK(out.programs[0].elf_name == "drop_9999");
  CHECK(out.programs[0].section == "xdp/drop_9999");
  CHECK(out.programs[0].instructions > 10);
  // 45: VLAN/QinQ skipping, IPv4 options, IHL and fragment checks (clang: 51
  // for the same checks, see bench/).
  CHECK(out.programs[0].instructions <= 45);
}
