// Arguments of the REPL's runtime forms: Lisp values as map keys and values
// (integers, constants, "10.0.0.1", lists, (:field value ...) records) and
// packets for test-run (a hex string or a list of byte values).
#pragma once

#include <optional>
#include <string>

#include "compilation.hpp"
#include "record_layout.hpp"

namespace whistler {

// Integers and strings stay; symbols name constants (XDP_DROP, defconstants);
// lists headed by a keyword are records; lists headed by a function name
// ((ash 1 4), (quote ...)) are evaluated at compile time; other lists are
// literal lists. On failure `error` says why.
std::optional<runtime::DecodedValue> to_decoded_value(Value* v, Compilation& compilation, std::string& error);

// A packet: "ffffffffffff..." (spaces and colons allowed) or (255 255 ...).
std::optional<std::string> to_packet_bytes(Value* v, Compilation& compilation, std::string& error);

// The text of a symbol or string argument ("drop-9999", "veth0"); nullopt otherwise.
std::optional<std::string> name_argument(Value* v);

}  // namespace whistler
