// IR shapes the BPF verifier depends on, shared by lowering and the passes
// that prove accesses: how a context field is read, how a value is hidden
// from LLVM's reasoning, and how helper calls are recognised.
//
// The verifier follows registers, not values: a context field must be read by
// one load at a constant offset from the unmodified context pointer, a bound
// it learns from a comparison belongs to the register compared, and it knows
// nothing of what LLVM proved. These helpers produce IR that keeps those
// shapes through LLVM's optimisations.
#pragma once

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/Instructions.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace whistler {

// The verifier's limit on a packet pointer's offset (MAX_PACKET_OFF): a
// comparison with data_end gives a pointer a range only while its constant
// offset plus the largest value of its variable part stay within it.
inline constexpr uint64_t kMaxPacketOffset = 0xffff;

// Helper ids the passes look for.
inline constexpr int kHelperMapLookup = 1;
inline constexpr int kHelperMapUpdate = 2;
inline constexpr int kHelperMapDelete = 3;
inline constexpr int kHelperMapPush = 87;
inline constexpr int kHelperMapPop = 88;
inline constexpr int kHelperMapPeek = 89;
inline constexpr int kHelperRingbufReserve = 131;
inline constexpr int kHelperRingbufSubmit = 132;
inline constexpr int kHelperRingbufDiscard = 133;

// Reads the 32-bit context field at `offset` as the BPF backend's
// llvm.bpf.getelementptr.and.load: LLVM may merge two reads of the same
// field (it reads memory only) but can neither turn two fields into one load
// through a computed address nor move the offset out of the load; the
// backend turns it back into one `w = *(u32 *)(ctx + offset)` before
// instruction selection.
llvm::Value* emit_ctx_load(llvm::IRBuilder<>& b, llvm::Value* ctx, unsigned offset);

// Reads a pointer field of the context (data, data_end, data_meta) as a
// 64-bit register: the 32-bit read, widened, then through an empty inline
// asm (emit_opaque) that the widened value dies in. A 32-bit load defines a
// 32-bit subregister, and where the register allocator copies that, it
// copies with a 32-bit move (w3 = w2), after which the verifier sees a
// number, not a packet pointer; the asm's result is a full 64-bit register,
// copied with 64-bit moves.
llvm::Value* emit_ctx_pointer(llvm::IRBuilder<>& b, llvm::Value* ctx, unsigned offset);

// The xdp_md fields the verifier types as pointers.
inline constexpr int kXdpDataField = 0;
inline constexpr int kXdpDataEndField = 4;
inline constexpr int kXdpDataMetaField = 8;

// The xdp_md offset a value was read from (through zext, trunc and
// inttoptr), or -1. Recognises emit_ctx_load's call and a plain load at a
// constant offset from the function's first argument.
int ctx_field(const llvm::Value* v);

// `v` unchanged, through an empty inline asm the optimisers and the code
// generator cannot see through (libbpf's barrier_var): a comparison made on
// the result cannot be folded away from what LLVM knows of `v`, and the
// result is one register that the comparison and every use share.
llvm::Value* emit_opaque(llvm::IRBuilder<>& b, llvm::Value* v);
// The same barrier, marked as having side effects: nothing moves it, or what
// uses its result, above the branch it follows (a checked offset must not be
// added to a packet pointer before its check: the code generator hoisted
// that addition out of a loop, above the check inside it).
llvm::Value* emit_pinned(llvm::IRBuilder<>& b, llvm::Value* v);
// Whether some path leaves `from` (at its end) and enters `to` without
// entering `avoid` (may be null) on the way. LLVM's isPotentiallyReachable
// gives up, and answers yes, past a few dozen blocks.
bool path_between(llvm::BasicBlock* from, llvm::BasicBlock* to, llvm::BasicBlock* avoid);
// Whether `v` is a phi or select with 0 among the pointers it merges (a
// parse-* result, `(if c p 0)`).
bool merges_null(const llvm::Value* v);
// The operand of an emit_opaque or llvm.bpf.passthrough, or nullptr.
llvm::Value* opaque_operand(const llvm::Value* v);

// A map's key and value sizes, recorded on its global (globals are never
// merged, so the record survives optimisation): the bounds pass checks the
// key and value a map helper reads through a pointer, and accesses through
// the value pointer a lookup returns.
struct MapSizes {
  uint64_t key = 0;
  uint64_t value = 0;
};
void describe_map_sizes(llvm::GlobalVariable& map, uint64_t key_size, uint64_t value_size);
std::optional<MapSizes> map_sizes(const llvm::Value* map);

// The memory an instruction reads or writes through pointers: loads, stores,
// atomics, memcpy/memset with a constant length, the key and value a map
// helper reads, and the (pointer, constant size) arguments of other helpers
// (HelperInfo::mem_args).
struct MemoryAccess {
  llvm::Value* pointer;
  uint64_t size;
};
void memory_accesses(llvm::Instruction& i, std::vector<MemoryAccess>& out);

// The buffers a helper call reads or writes through pointer arguments (the
// key and value of map helpers, HelperInfo::mem_args with a constant size),
// how it uses them, and whether they may be packet memory.
struct HelperBuffer {
  unsigned arg;
  uint64_t size;
  bool reads;
  bool writes;
  bool packet_ok;
};
void helper_buffers(llvm::CallBase& call, std::vector<HelperBuffer>& out);

// A helper call's BPF_FUNC id, or -1.
int helper_id(const llvm::CallBase& call);
int helper_id(const llvm::Value* v);

}  // namespace whistler
