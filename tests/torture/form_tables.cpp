// The grammar: every form the generator writes, with its weight. Weights are
// relative within a table (1 is rare, 10 is common). A statement form that
// holds statements of its own (a body) is Nests; the others are Flat. A form's function
// returns std::nullopt when it cannot be written in the current scope, and
// another line is drawn. To add a form, write its function (see
// program_generator.hpp) and add one line here.
#include "generator_core.hpp"

namespace whistler::torture {

using G = ProgramGenerator;

const std::vector<StatementRule>& statement_rules() {
  static const std::vector<StatementRule> rules = {
      // binding and assignment
      {"let", 12, Nesting::Nests, &G::statement_let},
      {"let-struct", 5, Nesting::Nests, &G::statement_let_struct},
      {"let-pointer", 4, Nesting::Nests, &G::statement_let_pointer},
      {"pointer-in-branches", 2, Nesting::Nests, &G::statement_pointer_in_branches},
      {"setf-var", 8, Nesting::Flat, &G::statement_setf_var},
      {"setf-pointer", 2, Nesting::Flat, &G::statement_setf_pointer},
      {"incf-var", 4, Nesting::Flat, &G::statement_incf_var},
      {"setf-field", 6, Nesting::Flat, &G::statement_setf_field},
      {"incf-field", 3, Nesting::Flat, &G::statement_incf_field},
      {"store-struct", 3, Nesting::Flat, &G::statement_store_struct},
      {"memset-struct", 2, Nesting::Flat, &G::statement_memset_struct},
      {"memcpy", 3, Nesting::Flat, &G::statement_memcpy},
      {"atomic-add", 3, Nesting::Flat, &G::statement_atomic_add},
      {"stack-addr-store", 1, Nesting::Flat, &G::statement_stack_addr},
      // control
      {"when", 7, Nesting::Nests, &G::statement_when},
      {"if", 5, Nesting::Nests, &G::statement_if},
      {"cond", 2, Nesting::Nests, &G::statement_cond},
      {"case", 2, Nesting::Nests, &G::statement_case},
      {"and-or", 1, Nesting::Flat, &G::statement_and_or},
      {"when-let-int", 2, Nesting::Nests, &G::statement_when_let_int},
      {"progn", 1, Nesting::Nests, &G::statement_progn},
      {"return", 3, Nesting::Flat, &G::statement_return},
      {"return-from", 1, Nesting::Flat, &G::statement_return_from},
      {"dotimes", 3, Nesting::Nests, &G::statement_dotimes},
      {"loop", 2, Nesting::Nests, &G::statement_loop},
      {"pointer-walk", 1, Nesting::Nests, &G::statement_pointer_walk},
      {"call", 3, Nesting::Flat, &G::statement_call},
      {"macro", 1, Nesting::Nests, &G::statement_macro},
      {"printk", 1, Nesting::Flat, &G::statement_printk},
      // packets
      {"with-header", 10, Nesting::Nests, &G::statement_with_header},
      {"parse", 6, Nesting::Nests, &G::statement_parse},
      {"setf-header", 5, Nesting::Flat, &G::statement_setf_header},
      {"packet-store", 5, Nesting::Flat, &G::statement_packet_store},
      {"packet-memory", 2, Nesting::Flat, &G::statement_packet_memory},
      {"bounds-check", 3, Nesting::Nests, &G::statement_bounds_check},
      {"checksum", 2, Nesting::Flat, &G::statement_checksum},
      {"metadata", 1, Nesting::Nests, &G::statement_metadata},
      {"move-packet", 2, Nesting::Nests, &G::statement_move_packet},
      {"xdp-bytes", 2, Nesting::Nests, &G::statement_xdp_bytes},
      // maps
      {"map-update", 6, Nesting::Nests, &G::statement_map_update},
      {"map-incf", 4, Nesting::Flat, &G::statement_map_incf},
      {"map-delete", 2, Nesting::Flat, &G::statement_map_delete},
      {"map-lookup", 6, Nesting::Nests, &G::statement_map_lookup},
      {"ringbuf", 3, Nesting::Nests, &G::statement_ringbuf},
      {"ringbuf-output", 1, Nesting::Flat, &G::statement_ringbuf_output},
      {"redirect", 1, Nesting::Flat, &G::statement_redirect},
      {"tail-call", 1, Nesting::Flat, &G::statement_tail_call},
  };
  return rules;
}

const std::vector<ExpressionRule>& int_expression_rules() {
  static const std::vector<ExpressionRule> rules = {
      {"literal", 10, &G::expression_literal},
      {"variable", 14, &G::expression_variable},
      {"arith", 10, &G::expression_arith},
      {"divide", 3, &G::expression_divide},
      {"unary", 2, &G::expression_unary},
      {"shift", 3, &G::expression_shift},
      {"compare", 4, &G::expression_compare},
      {"minmax", 2, &G::expression_minmax},
      {"byteswap", 2, &G::expression_byteswap},
      {"cast", 2, &G::expression_cast},
      {"if", 3, &G::expression_if},
      {"cond", 1, &G::expression_cond},
      {"case", 1, &G::expression_case},
      {"logic", 2, &G::expression_logic},
      {"let", 1, &G::expression_let},
      {"ctx-field", 3, &G::expression_ctx_field},
      {"helper", 2, &G::expression_helper},
      {"call", 2, &G::expression_call},
      {"macro", 1, &G::expression_macro},
      {"sizeof", 1, &G::expression_sizeof},
      {"struct-read", 6, &G::expression_struct_read},
      {"stack-slot-read", 1, &G::expression_stack_slot_read},
      {"packet-length", 3, &G::expression_packet_length},
      {"header-read", 8, &G::expression_header_read},
      {"packet-load", 5, &G::expression_packet_load},
      {"meta-load", 1, &G::expression_meta_load},
      {"checksum", 1, &G::expression_checksum},
      {"parse-test", 2, &G::expression_parse_test},
      {"getmap", 4, &G::expression_getmap},
      {"map-value", 2, &G::expression_map_value},
  };
  return rules;
}

const std::vector<ExpressionRule>& packet_pointer_rules() {
  static const std::vector<ExpressionRule> rules = {
      {"variable", 12, &G::pointer_variable},
      {"data", 3, &G::pointer_data},
      {"offset", 4, &G::pointer_offset},
      {"computed-offset", 2, &G::pointer_computed_offset},
      {"ipv4-payload", 2, &G::pointer_payload},
      {"if", 1, &G::pointer_if},
      {"cast", 1, &G::pointer_cast},
  };
  return rules;
}

}  // namespace whistler::torture
