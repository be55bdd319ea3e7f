#include "record_layout.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <cstring>

namespace whistler::runtime {

namespace {

bool address_like(const std::string& name) {
  auto ends = [&](const char* suffix) {
    size_t n = std::strlen(suffix);
    return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
  };
  return ends("ip") || ends("addr") || ends("address") || ends("ip4") || ends("ipv4");
}

uint64_t read_int(std::string_view bytes, uint32_t size, bool is_signed) {
  uint64_t v = 0;
  std::memcpy(&v, bytes.data(), std::min<size_t>(size, sizeof v));  // little-endian host
  if (is_signed && size < 8 && (v >> (size * 8 - 1)) & 1) v |= ~0ull << (size * 8);
  return v;
}

}  // namespace

RecordLayout RecordLayout::integer(uint32_t size, bool is_signed) {
  RecordLayout l;
  l.kind = Kind::Int;
  l.size = size;
  l.is_signed = is_signed;
  return l;
}

RecordLayout RecordLayout::bytes(uint32_t size) {
  RecordLayout l;
  l.kind = Kind::Bytes;
  l.size = size;
  return l;
}

RecordLayout RecordLayout::array(RecordLayout element, uint32_t count) {
  RecordLayout l;
  l.kind = Kind::Array;
  l.size = element.size * count;
  l.count = count;
  l.element = std::make_shared<const RecordLayout>(std::move(element));
  return l;
}

DecodedValue::DecodedValue() = default;

DecodedValue DecodedValue::integer(uint64_t bits, bool is_signed) {
  DecodedValue v;
  v.kind = Kind::Int;
  v.bits = bits;
  v.is_signed = is_signed;
  return v;
}

DecodedValue DecodedValue::text(std::string s) {
  DecodedValue v;
  v.kind = Kind::Text;
  v.bytes = std::move(s);
  return v;
}

std::string format_ipv4(uint32_t network_order) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &network_order, buf, sizeof buf);
  return buf;
}

DecodedValue decode(const RecordLayout& layout, std::string_view bytes, const std::string& field_name) {
  DecodedValue v;
  if (bytes.size() < layout.size) {
    v.kind = DecodedValue::Kind::Bytes;
    v.bytes = std::string(bytes);
    return v;
  }
  switch (layout.kind) {
    case RecordLayout::Kind::Int:
      v = DecodedValue::integer(read_int(bytes, layout.size, layout.is_signed), layout.is_signed);
      v.ipv4 = layout.size == 4 && !layout.is_signed && address_like(field_name);
      return v;
    case RecordLayout::Kind::Array:
      v.kind = DecodedValue::Kind::List;
      for (uint32_t i = 0; i < layout.count; ++i)
        v.items.push_back(decode(*layout.element, bytes.substr(i * layout.element->size), ""));
      return v;
    case RecordLayout::Kind::Struct:
      v.kind = DecodedValue::Kind::Record;
      for (const auto& f : layout.fields) v.fields.emplace_back(f.name, decode(*f.layout, bytes.substr(f.offset), f.name));
      return v;
    case RecordLayout::Kind::Bytes:
      v.kind = DecodedValue::Kind::Bytes;
      v.bytes = std::string(bytes.substr(0, layout.size ? layout.size : bytes.size()));
      return v;
  }
  return v;
}

std::string to_hex(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

std::string format_lisp(const DecodedValue& v) {
  switch (v.kind) {
    case DecodedValue::Kind::Int:
      if (v.ipv4) return fmt::format("\"{}\"", format_ipv4(static_cast<uint32_t>(v.bits)));
      return v.is_signed ? fmt::format("{}", v.as_signed()) : fmt::format("{}", v.bits);
    case DecodedValue::Kind::List: {
      std::string out = "(";
      for (size_t i = 0; i < v.items.size(); ++i) out += (i ? " " : "") + format_lisp(v.items[i]);
      return out + ")";
    }
    case DecodedValue::Kind::Record: {
      std::string out = "(";
      for (size_t i = 0; i < v.fields.size(); ++i)
        out += fmt::format("{}:{} {}", i ? " " : "", v.fields[i].first, format_lisp(v.fields[i].second));
      return out + ")";
    }
    case DecodedValue::Kind::Bytes:
      return fmt::format("#x\"{}\"", to_hex(v.bytes));
    case DecodedValue::Kind::Text:
      return fmt::format("\"{}\"", v.bytes);
  }
  return "?";
}

bool parse_hex_bytes(std::string_view text, std::string& out) {
  out.clear();
  if (text.rfind("#x", 0) == 0 || text.rfind("0x", 0) == 0) text.remove_prefix(2);
  int pending = -1;
  for (char c : text) {
    if (c == ' ' || c == ':' || c == '\n' || c == '\t' || c == '-' || c == '_') continue;
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    if (pending < 0) pending = d;
    else {
      out.push_back(static_cast<char>(pending * 16 + d));
      pending = -1;
    }
  }
  return pending < 0;
}

bool encode(const RecordLayout& layout, const DecodedValue& v, std::string& out, std::string& error) {
  out.assign(layout.size, '\0');
  switch (layout.kind) {
    case RecordLayout::Kind::Int: {
      uint64_t bits = 0;
      if (v.kind == DecodedValue::Kind::Text) {
        in_addr addr{};
        if (layout.size == 4 && inet_pton(AF_INET, v.bytes.c_str(), &addr) == 1) {
          std::memcpy(out.data(), &addr, 4);
          return true;
        }
        std::string raw;
        if (parse_hex_bytes(v.bytes, raw) && raw.size() == layout.size) {
          out = raw;
          return true;
        }
        error = fmt::format("\"{}\" is not a {}-byte integer{}", v.bytes, layout.size,
                            layout.size == 4 ? " or an IPv4 address" : "");
        return false;
      }
      if (v.kind != DecodedValue::Kind::Int) {
        error = fmt::format("expected an integer ({} bytes), got {}", layout.size, format_lisp(v));
        return false;
      }
      bits = v.bits;
      if (layout.size < 8) {
        int64_t s = v.as_signed();
        bool fits = v.is_signed && s < 0 ? (layout.is_signed ? s >= -(int64_t(1) << (layout.size * 8 - 1)) : s >= -(int64_t(1) << (layout.size * 8)))
                                         : bits < (uint64_t(1) << (layout.size * 8));
        if (!fits) {
          error = fmt::format("{} does not fit in {} bytes", format_lisp(v), layout.size);
          return false;
        }
      }
      std::memcpy(out.data(), &bits, layout.size);
      return true;
    }
    case RecordLayout::Kind::Array: {
      if (v.kind == DecodedValue::Kind::Text && layout.element->size == 1) {
        std::string raw;
        if (!parse_hex_bytes(v.bytes, raw) || raw.size() != layout.size) {
          error = fmt::format("expected {} bytes of hex, got \"{}\"", layout.size, v.bytes);
          return false;
        }
        out = raw;
        return true;
      }
      if (v.kind != DecodedValue::Kind::List || v.items.size() > layout.count) {
        error = fmt::format("expected a list of at most {} elements, got {}", layout.count, format_lisp(v));
        return false;
      }
      for (size_t i = 0; i < v.items.size(); ++i) {
        std::string part;
        if (!encode(*layout.element, v.items[i], part, error)) return false;
        std::memcpy(out.data() + i * layout.element->size, part.data(), part.size());
      }
      return true;
    }
    case RecordLayout::Kind::Struct: {
      auto put = [&](const RecordLayout::Field& f, const DecodedValue& fv) {
        std::string part;
        if (!encode(*f.layout, fv, part, error)) {
          error = fmt::format("field {}: {}", f.name, error);
          return false;
        }
        std::memcpy(out.data() + f.offset, part.data(), part.size());
        return true;
      };
      if (v.kind == DecodedValue::Kind::List) {
        if (v.items.size() > layout.fields.size()) {
          error = fmt::format("{} has {} fields, got {} values", layout.name, layout.fields.size(), v.items.size());
          return false;
        }
        for (size_t i = 0; i < v.items.size(); ++i)
          if (!put(layout.fields[i], v.items[i])) return false;
        return true;
      }
      if (v.kind == DecodedValue::Kind::Record) {
        for (const auto& [name, fv] : v.fields) {
          const RecordLayout::Field* field = nullptr;
          for (const auto& f : layout.fields)
            if (f.name == name) field = &f;
          if (!field) {
            std::string names;
            for (const auto& f : layout.fields) names += (names.empty() ? "" : ", ") + f.name;
            error = fmt::format("{} has no field '{}' (its fields: {})", layout.name, name, names);
            return false;
          }
          if (!put(*field, fv)) return false;
        }
        return true;
      }
      error = fmt::format("expected a {} as a list of field values or (:field value ...), got {}", layout.name, format_lisp(v));
      return false;
    }
    case RecordLayout::Kind::Bytes: {
      if (v.kind == DecodedValue::Kind::Int && layout.size <= 8) {
        RecordLayout as_int = RecordLayout::integer(layout.size);
        return encode(as_int, v, out, error);
      }
      std::string raw;
      if (v.kind == DecodedValue::Kind::Text && parse_hex_bytes(v.bytes, raw) && raw.size() == layout.size) {
        out = raw;
        return true;
      }
      if (v.kind == DecodedValue::Kind::List && v.items.size() == layout.size) {
        RecordLayout as_bytes = RecordLayout::array(RecordLayout::integer(1), layout.size);
        return encode(as_bytes, v, out, error);
      }
      error = fmt::format("expected {} bytes (hex text or a list of byte values), got {}", layout.size, format_lisp(v));
      return false;
    }
  }
  return false;
}

}  // namespace whistler::runtime
