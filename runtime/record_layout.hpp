// The layout of map keys and values and ring buffer records (scalars, fixed
// arrays and defstruct records laid out as C does), and values decoded from
// or encoded to those bytes. The runtime knows no Lisp: callers describe the
// layout (the CLI builds it from the compiler's types) and convert values.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace whistler::runtime {

struct RecordLayout {
  enum class Kind { Int, Array, Struct, Bytes };
  struct Field {
    std::string name;
    uint32_t offset = 0;
    std::shared_ptr<const RecordLayout> layout;
  };

  Kind kind = Kind::Bytes;
  uint32_t size = 0;
  bool is_signed = false;                        // Int
  std::shared_ptr<const RecordLayout> element;   // Array
  uint32_t count = 0;                            // Array
  std::vector<Field> fields;                     // Struct
  std::string name;                              // Struct: the defstruct name

  static RecordLayout integer(uint32_t size, bool is_signed = false);
  static RecordLayout bytes(uint32_t size);
  static RecordLayout array(RecordLayout element, uint32_t count);
};

// A value read from, or to be written to, a key, value or record.
struct DecodedValue {
  enum class Kind {
    Int,     // bits holds the value (sign-extended when is_signed)
    List,    // array elements, or struct fields given by position
    Record,  // struct fields by name
    Bytes,   // raw bytes (layouts without a type)
    Text,    // input only: "10.0.0.1" for a u32 address, hex for bytes
  };
  Kind kind = Kind::Int;
  uint64_t bits = 0;
  bool is_signed = false;
  bool ipv4 = false;  // display hint: a u32 address in network order
  std::vector<DecodedValue> items;
  std::vector<std::pair<std::string, DecodedValue>> fields;
  std::string bytes;  // Bytes; Text

  // Declared here, defined (defaulted) in record_layout.cpp: `fields` holds
  // pairs of this still-incomplete type, and clang with libstdc++ 12 refuses
  // to instantiate pair<string, DecodedValue>'s constructor traits while
  // implicitly defining this default constructor inside the class.
  DecodedValue();

  static DecodedValue integer(uint64_t bits, bool is_signed = false);
  static DecodedValue text(std::string s);
  int64_t as_signed() const { return static_cast<int64_t>(bits); }
};

// Fields named like addresses ("src-ip", "daddr", "addr") of 4 bytes are
// shown as dotted IPv4 addresses (they are in network order in packets).
DecodedValue decode(const RecordLayout& layout, std::string_view bytes, const std::string& field_name = "");
// 42, -1, (1 2 3), (:src-ip "10.0.0.1" :dst-port 80), #x"0a0b0c"
std::string format_lisp(const DecodedValue& v);
// "10.0.0.1" for 4 bytes in network order
std::string format_ipv4(uint32_t network_order);

// Builds the bytes for `layout` from `v`. Integers must fit; structs take
// fields by position (List) or name (Record, missing fields are 0); arrays a
// List; Text is an IPv4 address for 4-byte integers, or hex for byte arrays.
bool encode(const RecordLayout& layout, const DecodedValue& v, std::string& out, std::string& error);

// "0a 0b ff", "0a0bff", "0a:0b:ff" -> bytes; false on anything else.
bool parse_hex_bytes(std::string_view text, std::string& out);
std::string to_hex(std::string_view bytes);

}  // namespace whistler::runtime
