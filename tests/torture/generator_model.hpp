// What the generator knows about Whistler's types and definitions: scalar
// types, the packet library's headers and their accessors, struct layouts
// (computed as C lays them out, as the compiler does), maps, functions, and
// the typed variables of a scope.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace whistler::torture {

// ---- Scalar types ----

enum class Scalar : uint8_t { U8, U16, U32, U64, I8, I16, I32, I64 };

struct ScalarInfo {
  const char* name;
  int bytes;
  bool is_signed;
};

const ScalarInfo& scalar_info(Scalar s);
inline const char* scalar_name(Scalar s) { return scalar_info(s).name; }
inline int scalar_bytes(Scalar s) { return scalar_info(s).bytes; }
extern const Scalar kAllScalars[8];

// ---- Packet headers (stdlib/packet.lisp) ----

// Eth is also the packet's start: with-packet and with-eth bind DATA to it.
// Any is a pointer somewhere in the packet (computed, reassigned).
enum class Header : uint8_t { Eth, Ipv4, Ipv6, Tcp, Udp, Icmp, Any };

struct HeaderField {
  const char* accessor;  // "ipv4-ttl"
  Scalar type;
  int offset;
};

const char* header_name(Header h);   // "eth", "ipv4", ...
int header_length(Header h);         // bytes the library proves (20 for IPv4, 0 for Any)
const std::vector<HeaderField>& header_fields(Header h);

// ---- Structs ----

struct StructField {
  enum class Kind { Scalar, Array, Nested };
  std::string name;
  std::string accessor;  // NAME-FIELD, or the :conc-name prefix + FIELD
  Kind kind = Kind::Scalar;
  Scalar type = Scalar::U32;  // Scalar: the field's type; Array: the element type
  int count = 0;              // Array: element count
  int nested = -1;            // Nested: index of the struct
  int offset = 0;
  int size = 0;
  int align = 1;
};

struct StructDef {
  std::string name;
  std::vector<StructField> fields;
  int size = 0;
  int align = 1;
  // A key for an LPM trie: its first field is the u32 prefix length.
  bool lpm_key = false;
};

// Lays out `fields` as C does (each at its natural alignment, the size
// rounded up to the largest alignment), filling offset/size/align.
void layout_struct(StructDef& def, const std::vector<StructDef>& earlier);

// ---- Maps ----

enum class MapType : uint8_t {
  Array, Hash, PercpuArray, PercpuHash, LruHash, LruPercpuHash, LpmTrie,
  Ringbuf, ProgArray, Devmap, DevmapHash, Cpumap, Xskmap,
};

const char* map_type_keyword(MapType t);  // ":percpu-hash"

// A map's key or value type.
struct DataType {
  bool is_struct = false;
  Scalar scalar = Scalar::U32;
  int struct_index = -1;
  int size = 4;
};

struct MapDef {
  std::string name;
  MapType type = MapType::Hash;
  DataType key;
  DataType value;
  int max_entries = 1;
  int ringbuf_struct = -1;  // a ring buffer's :value-type

  // Maps whose keys and values the program reads and writes.
  bool holds_data() const;
  bool array_like() const { return type == MapType::Array || type == MapType::PercpuArray; }
  bool percpu() const;
  // getmap of a struct-valued map gives a pointer to the value.
  bool records() const { return value.is_struct; }
  bool redirect_target() const;
};

// ---- Functions ----

struct FunctionParam {
  enum class Kind { TypedInt, Int, PacketPointer, StructPointer };
  std::string name;
  Kind kind = Kind::Int;
  Scalar type = Scalar::U64;
  int struct_index = -1;
};

struct FunctionDef {
  std::string name;
  std::vector<FunctionParam> params;
  bool moves_packet = false;  // calls xdp-adjust-*: callers' packet pointers die
  // May leave the program: a (return ...), a with-* form (they return
  // XDP_PASS when the packet does not match), a tail call that jumps, or a
  // call of a function that may. Not while a hand-reserved record is held.
  bool leaves_program = false;
  bool tail_calls = false;    // a tail call, directly or in a function it calls
  int stack_bytes = 0;        // stack its body takes, at every call (functions are inlined)
};

// ---- Macros ----

struct MacroDef {
  enum class Kind { IntExpression, Statement };
  std::string name;
  Kind kind = Kind::IntExpression;
  int int_args = 1;  // integer arguments before the body
};

// ---- Variables in scope ----

enum class ValueKind : uint8_t {
  Int,            // a 64-bit integer (narrowed to `type` when stored)
  PacketPointer,  // into the packet; `header` says what is there
  MetaPointer,    // (ctx data-meta)
  DataEnd,        // (xdp-data-end): only for comparisons and lengths
  StructPointer,  // to a struct `struct_index` on the stack, in a map value or a ring buffer record
  ScalarPointer,  // to a map's scalar value of type `type`
  Hidden,         // a name bound to something unusable (the 0 an if-let's else branch sees): it shadows
};

enum class Storage : uint8_t { Stack, MapValue, Ringbuf };

struct Variable {
  std::string name;
  ValueKind kind = ValueKind::Int;
  Scalar type = Scalar::U64;   // Int: the declared type (U64 when untyped); ScalarPointer: the value's
  bool assignable = true;      // loop counters and constants are not
  bool has_slot = true;        // (stack-addr VAR) works: every variable but constants
  bool constant = false;       // a defconstant (its value is `value`)
  int64_t value = 0;
  Header header = Header::Any; // PacketPointer
  int struct_index = -1;       // StructPointer
  Storage storage = Storage::Stack;
  bool percpu = false;         // a value of a per-CPU map
  int epoch = 0;               // PacketPointer, MetaPointer, DataEnd: valid while the packet is not moved
};

}  // namespace whistler::torture
