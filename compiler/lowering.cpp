#include "lowering.hpp"

#include <fmt/format.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/DIBuilder.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/IntrinsicsBPF.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/Transforms/Utils/Local.h>

#include <unordered_map>
#include <unordered_set>

#include "debug_types.hpp"
#include "helpers.hpp"
#include "suggest.hpp"
#include "verifier_ir.hpp"

namespace whistler {

namespace {

struct LVal {
  enum Kind { Int, Ptr, Bool };
  llvm::Value* v = nullptr;
  Kind kind = Int;
};

struct Var {
  const Symbol* name = nullptr;
  llvm::AllocaInst* slot = nullptr;
  bool is_ptr = false;
  unsigned bits = 64;
  bool is_signed = false;
};

// Where (return X) goes: out of the program, or out of an inlined defun.
struct ReturnTarget {
  bool program = true;
  const Symbol* name = nullptr;  // the program's or the function's name (return-from)
  llvm::BasicBlock* exit = nullptr;
  std::vector<std::pair<LVal, llvm::BasicBlock*>> incoming;
};

struct CtxField {
  const char* name;
  unsigned offset;
  bool pointer;
};
constexpr CtxField kCtxFields[] = {
    {"data", 0, true},           {"data-end", 4, true},       {"data-meta", 8, true},
    {"ingress-ifindex", 12, false}, {"rx-queue-index", 16, false}, {"egress-ifindex", 20, false},
};

const CtxField* find_ctx_field(const Symbol* s) {
  std::string n = s->name;
  for (char& c : n)
    if (c == '_') c = '-';
  for (const auto& f : kCtxFields)
    if (n == f.name) return &f;
  return nullptr;
}

class Lowerer {
 public:
  Lowerer(llvm::LLVMContext& ctx, const Module& module, Diagnostics& diags, uint32_t main_file,
          const LoweringOptions& options)
      : ctx_(ctx), module_(module), diags_(diags), main_file_(main_file), options_(options), b_(ctx) {}

  std::unique_ptr<llvm::Module> run(const llvm::DataLayout& layout, const std::string& triple);

 private:
  using Handler = LVal (Lowerer::*)(Value* form);
  static const std::unordered_map<const Symbol*, Handler>& handlers();

  // ---- module level ----
  llvm::DIFile* di_file(uint32_t file);
  void emit_maps();
  void emit_license();
  void emit_program(const ProgramDef& prog);

  // ---- expressions ----
  LVal lower(Value* form);
  LVal lower_body(Value* forms);  // progn semantics
  LVal lower_symbol(Value* form);
  LVal lower_call(Value* form);
  void emit_branch(Value* cond, llvm::BasicBlock* if_true, llvm::BasicBlock* if_false);

  LVal f_progn(Value* form) { return lower_body(cdr(form)); }
  LVal f_if(Value* form);
  LVal f_and(Value* form);
  LVal f_or(Value* form);
  LVal f_not(Value* form);
  LVal f_let(Value* form);
  LVal f_setq(Value* form);
  LVal f_return(Value* form);
  LVal f_loop(Value* form);
  LVal f_declare(Value*) { return zero(); }
  LVal f_error(Value*) { return zero(); }  // a statement whose expansion failed (already reported)
  LVal f_opaque(Value* form);
  LVal f_on_return(Value* form);
  LVal f_quote(Value* form);
  LVal f_add(Value* form);
  LVal f_sub(Value* form);
  LVal f_arith(Value* form);
  llvm::Value* divide(llvm::Value* x, llvm::Value* divisor, bool quotient);
  LVal f_lognot(Value* form);
  LVal f_shift(Value* form);
  LVal f_compare(Value* form);
  LVal f_minmax(Value* form);
  LVal f_byteswap(Value* form);
  LVal f_cast(Value* form);
  LVal f_load(Value* form);
  LVal f_store(Value* form);
  LVal f_atomic_add(Value* form);
  LVal f_memset(Value* form);
  LVal f_memcpy(Value* form);
  LVal f_stack_addr(Value* form);
  LVal f_stack_alloc(Value* form);
  LVal f_ctx(Value* form);
  LVal f_ctx_store(Value* form);
  LVal f_map_lookup(Value* form);
  LVal f_map_update(Value* form);
  LVal f_map_delete(Value* form);
  LVal f_getmap(Value* form);
  LVal f_setmap(Value* form);
  LVal f_incf_map(Value* form);
  LVal f_printk(Value* form);
  LVal lower_helper(const HelperInfo& h, Value* form);
  LVal lower_defun(const FunctionDef& fn, Value* form);

  // ---- helpers ----
  [[noreturn]] void fail(const Value* form, std::string message, std::string hint = {});
  SourceLoc loc_of(const Value* form) const { return form->loc.valid() ? form->loc : current_loc_; }
  void set_location(SourceLoc loc);
  std::vector<Value*> args_of(Value* form, size_t min, size_t max, const char* usage);
  LVal zero() { return {b_.getInt64(0), LVal::Int}; }
  LVal integer(llvm::Value* v) { return {v, LVal::Int}; }
  llvm::Value* as_int(LVal v);
  llvm::Value* as_ptr(LVal v);
  llvm::Value* as_cond(LVal v);
  llvm::Value* int_operand(Value* form, const char* what);
  llvm::Value* int_operand_value_check(LVal v, Value* form);
  int64_t constant_operand(Value* form, const char* what);
  Type scalar_type(Value* spec, const char* what);
  llvm::IntegerType* int_ty(unsigned bits) { return llvm::IntegerType::get(ctx_, bits); }
  llvm::Value* extend(llvm::Value* v, bool is_signed) {
    return is_signed ? b_.CreateSExt(v, b_.getInt64Ty()) : b_.CreateZExt(v, b_.getInt64Ty());
  }
  llvm::Value* fit_to(llvm::Value* v64, unsigned bits, bool is_signed);  // wrap an i64 to a narrower type
  llvm::AllocaInst* entry_alloca(llvm::Type* t, uint64_t align, const char* name);
  llvm::Value* byte_offset(llvm::Value* ptr, llvm::Value* offset);
  llvm::Value* call_helper(int id, llvm::Type* ret, const std::vector<llvm::Value*>& args);
  const MapDef& map_operand(Value* form, const char* op);
  void check_map_owner(const MapDef& m, Value* form);
  llvm::GlobalVariable* map_global(const MapDef& m) { return map_globals_.at(&m); }
  llvm::Value* spill(LVal v, unsigned bytes, const char* name);
  llvm::Value* key_pointer(const MapDef& m, Value* form, LVal key);
  // A key given as (load T P OFF) of exactly the key's size is passed by its
  // address, as C passes &iph->saddr; otherwise the value is spilled.
  llvm::Value* key_operand(const MapDef& m, Value* form);
  llvm::Value* value_pointer(const MapDef& m, Value* form, LVal value);
  llvm::Value* map_lookup(const MapDef& m, llvm::Value* key_ptr);
  void atomic_add(llvm::Value* ptr, llvm::Value* delta64, unsigned bits, bool percpu);
  Var* find_var(const Symbol* s);
  Var make_var(const Symbol* name, bool is_ptr, unsigned bits, bool is_signed);
  void store_var(Var& var, LVal value);
  bool dead() const;
  void start_dead_block();
  // `kind`: what the value would be, for code after a return (no incoming
  // edge), which is never run but still checked.
  LVal join(llvm::BasicBlock* merge, std::vector<std::pair<LVal, llvm::BasicBlock*>>& incoming, LVal::Kind kind);
  std::vector<std::string> known_names() const;

  llvm::LLVMContext& ctx_;
  const Module& module_;
  Diagnostics& diags_;
  uint32_t main_file_;
  LoweringOptions options_;
  llvm::IRBuilder<> b_;
  std::unique_ptr<llvm::Module> m_;
  std::unique_ptr<llvm::DIBuilder> dib_;
  std::unique_ptr<DebugTypes> types_;
  llvm::DICompileUnit* cu_ = nullptr;
  std::unordered_map<uint32_t, llvm::DIFile*> files_;
  std::unordered_map<const MapDef*, llvm::GlobalVariable*> map_globals_;

  // The first program to use each map that ties programs together (prog
  // arrays, devmaps, cpumaps), for check_map_owner.
  struct MapOwner {
    const ProgramDef* program;
    bool frags;
    std::string attach;  // the expected attach type the runtime and libbpf give the section
    SourceLoc loc;
  };
  std::unordered_map<const MapDef*, MapOwner> map_owners_;

  // Per program.
  const ProgramDef* program_ = nullptr;
  llvm::Function* fn_ = nullptr;
  llvm::BasicBlock* entry_ = nullptr;
  llvm::Value* ctx_arg_ = nullptr;
  llvm::DISubprogram* sp_ = nullptr;
  std::unordered_map<uint32_t, llvm::DIScope*> scopes_;
  std::vector<Var> vars_;
  std::vector<ReturnTarget> returns_;
  // (%on-return (CLEANUP...) BODY...) scopes: CLEANUP runs before any return
  // that leaves the scope (with-ringbuf discards its record this way).
  struct Cleanup {
    Value* forms;
    size_t return_depth;  // returns_.size() when the scope began
    std::vector<Var> vars;  // the variables in scope there: a return from an inlined defun runs it outside that scope
  };
  std::vector<Cleanup> cleanups_;
  std::vector<const FunctionDef*> inlining_;
  SourceLoc current_loc_;
  uint32_t passthrough_seq_ = 0;
  int depth_ = 0;
};

// ---------------------------------------------------------------------------------
// Module level
// ---------------------------------------------------------------------------------

llvm::DIFile* Lowerer::di_file(uint32_t file) {
  if (auto it = files_.find(file); it != files_.end()) return it->second;
  const SourceFile& src = diags_.sources().file(file);
  std::string path = src.path();
  std::string dir, name = path;
  if (auto slash = path.rfind('/'); slash != std::string::npos) {
    dir = path.substr(0, slash);
    name = path.substr(slash + 1);
  }
  // Embedding the source makes BTF line_info carry the .lisp text, so the
  // verifier log and `bpftool prog dump xlated` show Whistler source lines.
  llvm::DIFile* f = dib_->createFile(name, dir.empty() ? "." : dir, std::nullopt, llvm::StringRef(src.text()));
  files_[file] = f;
  return f;
}

std::unique_ptr<llvm::Module> Lowerer::run(const llvm::DataLayout& layout, const std::string& triple) {
  const SourceFile& main = diags_.sources().file(main_file_);
  m_ = std::make_unique<llvm::Module>(main.path(), ctx_);
  m_->setDataLayout(layout);
  m_->setTargetTriple(triple);
  m_->addModuleFlag(llvm::Module::Warning, "Dwarf Version", 5);
  m_->addModuleFlag(llvm::Module::Warning, "Debug Info Version", llvm::DEBUG_METADATA_VERSION);
  dib_ = std::make_unique<llvm::DIBuilder>(*m_);
  llvm::DIFile* file = di_file(main_file_);
  cu_ = dib_->createCompileUnit(llvm::dwarf::DW_LANG_C11, file, options_.producer, options_.optimized, "", 0);
  types_ = std::make_unique<DebugTypes>(*dib_, cu_, file);

  emit_maps();
  emit_license();
  for (const auto& prog : module_.programs) {
    try {
      emit_program(prog);
    } catch (const AbortForm&) {
    }
  }
  dib_->finalize();
  if (diags_.has_errors()) return nullptr;
  return std::move(m_);
}

void Lowerer::emit_maps() {
  llvm::Type* ptr = llvm::PointerType::getUnqual(ctx_);
  for (const auto& map : module_.maps) {
    unsigned n = DebugTypes::map_member_count(map);
    auto* st = llvm::StructType::get(ctx_, std::vector<llvm::Type*>(n, ptr));
    auto* gv = new llvm::GlobalVariable(*m_, st, false, llvm::GlobalValue::ExternalLinkage,
                                        llvm::ConstantAggregateZero::get(st), map.elf_name);
    gv->setSection(".maps");
    gv->setAlignment(llvm::Align(8));
    gv->setDSOLocal(true);
    if (gv->getName() != map.elf_name)
      diags_.error(map.loc, fmt::format("map '{}' clashes with another definition named {}", map.name->name, map.elf_name));
    types_->describe_map(map, gv, di_file(map.loc.file ? map.loc.file : main_file_), map.loc.line);
    if (map.has_key_value()) describe_map_sizes(*gv, map.key_size, map.value_size);
    map_globals_[&map] = gv;
  }
}

void Lowerer::emit_license() {
  std::string license = "GPL";
  SourceLoc where;
  for (const auto& prog : module_.programs) {
    if (!prog.license_given) continue;
    if (where.valid() && prog.license != license) {
      diags_.error(prog.license_loc, fmt::format("program '{}' asks for license \"{}\" but another program of this object asks for \"{}\"",
                                                 prog.name->name, prog.license, license))
          .with_note(where, "the other license is given here")
          .with_hint("an ELF object has one license section; use the same :license for every program");
      continue;
    }
    license = prog.license;
    where = prog.license_loc;
  }
  auto* init = llvm::ConstantDataArray::getString(ctx_, license, true);
  auto* gv = new llvm::GlobalVariable(*m_, init->getType(), true, llvm::GlobalValue::ExternalLinkage, init, "_license");
  gv->setSection("license");
  gv->setAlignment(llvm::Align(1));
  gv->setDSOLocal(true);
  types_->describe_license(gv, license.size() + 1);
}

void Lowerer::emit_program(const ProgramDef& prog) {
  program_ = &prog;
  auto* fty = llvm::FunctionType::get(b_.getInt32Ty(), {llvm::PointerType::getUnqual(ctx_)}, false);
  fn_ = llvm::Function::Create(fty, llvm::GlobalValue::ExternalLinkage, prog.elf_name, *m_);
  if (fn_->getName() != prog.elf_name)
    diags_.fatal(prog.loc, fmt::format("program '{}' has the same ELF name as another program or map ({})", prog.name->name, prog.elf_name),
                 "rename the program or the map");
  fn_->setSection(prog.section);
  fn_->setDSOLocal(true);
  fn_->addFnAttr(llvm::Attribute::NoUnwind);
  fn_->addFnAttr(kShortPacketAttr, std::to_string(options_.short_packet_override >= 0 ? options_.short_packet_override
                                                                                     : prog.short_packet_action));
  ctx_arg_ = fn_->getArg(0);
  ctx_arg_->setName("ctx");

  llvm::DIFile* file = di_file(prog.loc.file);
  sp_ = dib_->createFunction(file, prog.elf_name, "", file, prog.loc.line, types_->program_signature(), prog.loc.line,
                             llvm::DINode::FlagPrototyped,
                             llvm::DISubprogram::SPFlagDefinition |
                                 (options_.optimized ? llvm::DISubprogram::SPFlagOptimized : llvm::DISubprogram::SPFlagZero));
  fn_->setSubprogram(sp_);
  scopes_.clear();
  scopes_[prog.loc.file] = sp_;
  // A named, retained parameter: without it the kernel rejects func_info ("Invalid arg#1").
  llvm::DILocalVariable* ctx_var =
      dib_->createParameterVariable(sp_, "ctx", 1, file, prog.loc.line, types_->xdp_md_pointer(), /*AlwaysPreserve=*/true);

  entry_ = llvm::BasicBlock::Create(ctx_, "entry", fn_);
  b_.SetInsertPoint(entry_);
  set_location(prog.loc);
  dib_->insertDbgValueIntrinsic(ctx_arg_, ctx_var, dib_->createExpression(), b_.getCurrentDebugLocation().get(), entry_);
  vars_.clear();
  returns_.clear();
  returns_.push_back(ReturnTarget{true, prog.name, nullptr, {}});

  LVal result = lower_body(prog.body);
  if (!dead()) {
    set_location(prog.loc);
    b_.CreateRet(b_.CreateTrunc(as_int(result), b_.getInt32Ty()));
  } else {
    b_.CreateUnreachable();
  }
  // After an error the function may hold unterminated blocks; it is discarded
  // with the module, so it must not be walked.
  if (!diags_.has_errors()) llvm::removeUnreachableBlocks(*fn_);
  returns_.clear();
}

// ---------------------------------------------------------------------------------
// Utilities
// ---------------------------------------------------------------------------------

void Lowerer::fail(const Value* form, std::string message, std::string hint) {
  // A use of a name whose definition already failed is not a new error.
  const Symbol* name = form->tag == Tag::Sym ? form->sym : head_symbol(form);
  if (name && module_.poisoned.count(name)) throw AbortForm{};
  diags_.fatal(loc_of(form), std::move(message), std::move(hint));
}

void Lowerer::set_location(SourceLoc loc) {
  if (!loc.valid()) return;
  current_loc_ = loc;
  llvm::DIScope* scope;
  if (auto it = scopes_.find(loc.file); it != scopes_.end()) {
    scope = it->second;
  } else {
    scope = dib_->createLexicalBlockFile(sp_, di_file(loc.file));
    scopes_[loc.file] = scope;
  }
  b_.SetCurrentDebugLocation(llvm::DILocation::get(ctx_, loc.line, loc.col, scope));
}

std::vector<Value*> Lowerer::args_of(Value* form, size_t min, size_t max, const char* usage) {
  std::vector<Value*> args = list_items(cdr(form));
  if (args.size() < min || args.size() > max) {
    std::string expected = min == max ? fmt::format("{}", min) : max == SIZE_MAX ? fmt::format("at least {}", min) : fmt::format("{} to {}", min, max);
    fail(form, fmt::format("({} ...) takes {} argument{}, got {}", head_symbol(form)->name, expected, (min == 1 && max == 1) ? "" : "s", args.size()),
         fmt::format("usage: {}", usage));
  }
  return args;
}

llvm::Value* Lowerer::as_int(LVal v) {
  switch (v.kind) {
    case LVal::Int: return v.v;
    case LVal::Bool: return b_.CreateZExt(v.v, b_.getInt64Ty());
    case LVal::Ptr: return b_.CreatePtrToInt(v.v, b_.getInt64Ty());
  }
  return v.v;
}

llvm::Value* Lowerer::as_ptr(LVal v) {
  if (v.kind == LVal::Ptr) return v.v;
  return b_.CreateIntToPtr(as_int(v), llvm::PointerType::getUnqual(ctx_));
}

llvm::Value* Lowerer::as_cond(LVal v) {
  switch (v.kind) {
    case LVal::Bool: return v.v;
    case LVal::Int: return b_.CreateICmpNE(v.v, b_.getInt64(0));
    case LVal::Ptr: return b_.CreateICmpNE(v.v, llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx_)));
  }
  return v.v;
}

llvm::Value* Lowerer::int_operand(Value* form, const char* what) {
  LVal v = lower(form);
  if (v.kind == LVal::Ptr && what)
    fail(form, fmt::format("{} expects an integer, got a pointer", what),
         "pointer arithmetic is (+ PTR N) and (- PTR N); (- PTR1 PTR2) gives a length");
  return as_int(v);
}

int64_t Lowerer::constant_operand(Value* form, const char* what) {
  llvm::Value* v = int_operand(form, what);
  auto* c = llvm::dyn_cast<llvm::ConstantInt>(v);
  if (!c) fail(form, fmt::format("{} must be a constant", what), "use an integer, a defconstant or an expression of them");
  return c->getSExtValue();
}

Type Lowerer::scalar_type(Value* spec, const char* what) {
  if (spec->tag == Tag::Sym) {
    const Symbol* s = spec->sym->keyword() ? intern(spec->sym->name.substr(1)) : spec->sym;
    if (auto t = scalar_type_named(s)) return *t;
  }
  fail(spec, fmt::format("{}: {} is not a scalar type", what, print(spec)), "scalar types are u8 u16 u32 u64 i8 i16 i32 i64");
}

llvm::Value* Lowerer::fit_to(llvm::Value* v64, unsigned bits, bool is_signed) {
  if (bits >= 64) return v64;
  return extend(b_.CreateTrunc(v64, int_ty(bits)), is_signed);
}

llvm::AllocaInst* Lowerer::entry_alloca(llvm::Type* t, uint64_t align, const char* name) {
  llvm::IRBuilder<> eb(entry_, entry_->getFirstInsertionPt());
  auto* a = eb.CreateAlloca(t, nullptr, name);
  // BPF stack slots are 8 bytes: at 8-byte alignment the DAG can merge
  // constant field stores into 64-bit ones, as it does for clang's structs.
  a->setAlignment(llvm::Align(std::max<uint64_t>(align, 8)));
  return a;
}

llvm::Value* Lowerer::byte_offset(llvm::Value* ptr, llvm::Value* offset) {
  if (auto* c = llvm::dyn_cast<llvm::ConstantInt>(offset); c && c->isZero()) return ptr;
  return b_.CreateInBoundsGEP(b_.getInt8Ty(), ptr, offset);
}

llvm::Value* Lowerer::call_helper(int id, llvm::Type* ret, const std::vector<llvm::Value*>& args) {
  std::vector<llvm::Type*> types;
  for (auto* a : args) types.push_back(a->getType());
  auto* fty = llvm::FunctionType::get(ret, types, false);
  auto* callee = llvm::ConstantExpr::getIntToPtr(b_.getInt64(id), llvm::PointerType::getUnqual(ctx_));
  return b_.CreateCall(fty, callee, args);
}

bool Lowerer::dead() const {
  llvm::BasicBlock* bb = b_.GetInsertBlock();
  return bb != entry_ && llvm::pred_empty(bb);
}

void Lowerer::start_dead_block() { b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "dead", fn_)); }

LVal Lowerer::join(llvm::BasicBlock* merge, std::vector<std::pair<LVal, llvm::BasicBlock*>>& incoming, LVal::Kind kind) {
  b_.SetInsertPoint(merge);
  if (incoming.empty()) {
    llvm::Type* t = kind == LVal::Ptr ? static_cast<llvm::Type*>(llvm::PointerType::getUnqual(ctx_))
                    : kind == LVal::Bool ? static_cast<llvm::Type*>(b_.getInt1Ty()) : b_.getInt64Ty();
    return {llvm::PoisonValue::get(t), kind};
  }
  if (incoming.size() == 1) return incoming[0].first;
  // A pointer on some paths and the literal 0 on the others is a nullable
  // pointer (parse-eth and friends), not an integer: keep it a pointer so
  // packet pointers stay visible to the bounds checks and the verifier.
  bool any_ptr = false;
  for (auto& [v, bb] : incoming) any_ptr |= v.kind == LVal::Ptr;
  if (any_ptr)
    for (auto& [v, bb] : incoming)
      if (auto* c = llvm::dyn_cast<llvm::ConstantInt>(v.v); v.kind == LVal::Int && c && c->isZero())
        v = {llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx_)), LVal::Ptr};
  bool all_ptr = true, all_bool = true;
  for (auto& [v, bb] : incoming) {
    all_ptr &= v.kind == LVal::Ptr;
    all_bool &= v.kind == LVal::Bool;
  }
  llvm::Type* t = all_ptr ? static_cast<llvm::Type*>(llvm::PointerType::getUnqual(ctx_))
                          : all_bool ? static_cast<llvm::Type*>(b_.getInt1Ty()) : b_.getInt64Ty();
  llvm::PHINode* phi = llvm::PHINode::Create(t, static_cast<unsigned>(incoming.size()), "", merge);
  for (auto& [v, bb] : incoming) {
    llvm::Value* x = v.v;
    if (!all_ptr && !all_bool) {
      // Convert in the predecessor, before its terminator.
      llvm::IRBuilder<> pb(bb->getTerminator());
      if (v.kind == LVal::Bool) x = pb.CreateZExt(x, pb.getInt64Ty());
      else if (v.kind == LVal::Ptr) x = pb.CreatePtrToInt(x, pb.getInt64Ty());
    }
    phi->addIncoming(x, bb);
  }
  return {phi, all_ptr ? LVal::Ptr : all_bool ? LVal::Bool : LVal::Int};
}

Var* Lowerer::find_var(const Symbol* s) {
  for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
    if (it->name == s) return &*it;
  return nullptr;
}

Var Lowerer::make_var(const Symbol* name, bool is_ptr, unsigned bits, bool is_signed) {
  Var v;
  v.name = name;
  v.is_ptr = is_ptr;
  v.bits = bits;
  v.is_signed = is_signed;
  v.slot = entry_alloca(is_ptr ? static_cast<llvm::Type*>(llvm::PointerType::getUnqual(ctx_)) : b_.getInt64Ty(), 8,
                        elf_name(name->name).c_str());
  return v;
}

void Lowerer::store_var(Var& var, LVal value) {
  llvm::Value* v = var.is_ptr ? as_ptr(value) : fit_to(as_int(value), var.bits, var.is_signed);
  b_.CreateStore(v, var.slot);
}

std::vector<std::string> Lowerer::known_names() const {
  std::vector<std::string> names;
  for (const auto& [s, h] : handlers()) names.push_back(s->name);
  for (const auto& h : all_helpers()) names.push_back(h.name);
  for (const auto& f : module_.functions) names.push_back(f.name->name);
  for (const auto& [s, m] : module_.macros) names.push_back(s->name);
  for (const auto& [s, a] : module_.accessors) names.push_back(s->name);
  return names;
}

// ---------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------

LVal Lowerer::lower(Value* form) {
  if (form->loc.valid()) set_location(form->loc);
  struct Depth {
    int& d;
    explicit Depth(int& depth) : d(depth) { ++d; }
    ~Depth() { --d; }
  } depth(depth_);
  if (depth_ > 20000) fail(form, "expression nested more than 20000 deep");
  switch (form->tag) {
    case Tag::Nil: return zero();
    case Tag::Int: return integer(b_.getInt64(static_cast<uint64_t>(form->i)));
    case Tag::Sym: return lower_symbol(form);
    case Tag::Str:
      fail(form, "a string has no value in a BPF program", "strings are only the format argument of (printk \"...\" ...)");
    case Tag::Func: fail(form, "a compile-time function has no value in a BPF program");
    case Tag::Cons: break;
  }
  const Symbol* h = head_symbol(form);
  if (!h) fail(form, fmt::format("{} is not a function or operator name", print(car(form))));
  const auto& table = handlers();
  if (auto it = table.find(h); it != table.end()) return (this->*(it->second))(form);
  return lower_call(form);
}

LVal Lowerer::lower_body(Value* forms) {
  LVal result = zero();
  for (Value* f : items(forms)) {
    try {
      result = lower(f);
    } catch (const AbortForm&) {
      // The error is reported; keep lowering the next statement to find more errors.
      result = zero();
    }
  }
  return result;
}

LVal Lowerer::lower_symbol(Value* form) {
  const Symbol* s = form->sym;
  if (Var* v = find_var(s)) {
    llvm::Value* x = b_.CreateLoad(v->is_ptr ? static_cast<llvm::Type*>(llvm::PointerType::getUnqual(ctx_)) : b_.getInt64Ty(), v->slot);
    return {x, v->is_ptr ? LVal::Ptr : LVal::Int};
  }
  if (s == WSYM("t")) return integer(b_.getInt64(1));
  if (s == WSYM("ctx")) return {ctx_arg_, LVal::Ptr};
  if (s->keyword()) fail(form, fmt::format("keyword {} has no value in a BPF program", s->name));
  if (module_.find_map(s))
    fail(form, fmt::format("map '{}' is not a value", s->name), "use it through (getmap ...), (map-lookup ...) or a helper that takes a map");
  if (auto c = module_.constants.find(s); c != module_.constants.end())
    fail(form, fmt::format("constant '{}' is {}, not an integer", s->name, print(c->second)));
  std::vector<std::string> candidates;
  for (const auto& v : vars_) candidates.push_back(v.name->name);
  for (const auto& [sym, val] : module_.constants) candidates.push_back(sym->name);
  std::string hint = suggestion(s->name, candidates);
  fail(form, fmt::format("unknown variable '{}'", s->name), hint);
}

LVal Lowerer::lower_call(Value* form) {
  const Symbol* h = head_symbol(form);
  if (const HelperInfo* helper = find_helper(h)) return lower_helper(*helper, form);
  if (const FunctionDef* fn = module_.find_function(h)) return lower_defun(*fn, form);
  if (Var* v = find_var(h)) fail(form, fmt::format("'{}' is a variable, not a function", v->name->name));
  if (module_.find_map(h)) fail(form, fmt::format("'{}' is a map, not a function", h->name), "look values up with (getmap MAP KEY)");
  std::string hint = suggestion(h->name, known_names());
  fail(form, fmt::format("unknown form '{}'", h->name), hint.empty() ? "define it with defun or defmacro before this use" : hint);
}

void Lowerer::emit_branch(Value* cond, llvm::BasicBlock* if_true, llvm::BasicBlock* if_false) {
  if (cond->loc.valid()) set_location(cond->loc);
  const Symbol* h = head_symbol(cond);
  if (h == WSYM("and") || h == WSYM("or")) {
    std::vector<Value*> parts = list_items(cdr(cond));
    if (parts.empty()) {
      b_.CreateBr(h == WSYM("and") ? if_true : if_false);
      return;
    }
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      llvm::BasicBlock* next = llvm::BasicBlock::Create(ctx_, h == WSYM("and") ? "and.next" : "or.next", fn_);
      if (h == WSYM("and")) emit_branch(parts[i], next, if_false);
      else emit_branch(parts[i], if_true, next);
      b_.SetInsertPoint(next);
    }
    emit_branch(parts.back(), if_true, if_false);
    return;
  }
  if (h == WSYM("not") && list_length(cond) == 2) {
    emit_branch(nth(cond, 1), if_false, if_true);
    return;
  }
  LVal v = lower(cond);
  if (dead()) {
    b_.CreateUnreachable();
    return;
  }
  b_.CreateCondBr(as_cond(v), if_true, if_false);
}

LVal Lowerer::f_if(Value* form) {
  auto args = args_of(form, 2, 3, "(if TEST THEN [ELSE])");
  auto* then_bb = llvm::BasicBlock::Create(ctx_, "then", fn_);
  auto* else_bb = llvm::BasicBlock::Create(ctx_, "else", fn_);
  auto* merge = llvm::BasicBlock::Create(ctx_, "endif", fn_);
  emit_branch(args[0], then_bb, else_bb);
  std::vector<std::pair<LVal, llvm::BasicBlock*>> incoming;
  b_.SetInsertPoint(then_bb);
  LVal t = lower(args[1]);
  if (!dead()) {
    incoming.push_back({t, b_.GetInsertBlock()});
    b_.CreateBr(merge);
  } else {
    b_.CreateUnreachable();
  }
  b_.SetInsertPoint(else_bb);
  LVal e = args.size() == 3 ? lower(args[2]) : (t.kind == LVal::Ptr ? LVal{llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx_)), LVal::Ptr} : zero());
  if (!dead()) {
    incoming.push_back({e, b_.GetInsertBlock()});
    b_.CreateBr(merge);
  } else {
    b_.CreateUnreachable();
  }
  return join(merge, incoming, t.kind == LVal::Ptr || e.kind == LVal::Ptr ? LVal::Ptr : t.kind);
}

LVal Lowerer::f_and(Value* form) {
  std::vector<Value*> parts = list_items(cdr(form));
  if (parts.empty()) return integer(b_.getInt64(1));
  auto* merge = llvm::BasicBlock::Create(ctx_, "and.end", fn_);
  std::vector<std::pair<LVal, llvm::BasicBlock*>> incoming;
  std::vector<llvm::BasicBlock*> failures;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    auto* next = llvm::BasicBlock::Create(ctx_, "and.next", fn_);
    auto* fail_bb = llvm::BasicBlock::Create(ctx_, "and.false", fn_);
    emit_branch(parts[i], next, fail_bb);
    failures.push_back(fail_bb);
    b_.SetInsertPoint(next);
  }
  LVal last = lower(parts.back());
  bool last_live = !dead();
  if (last_live) {
    incoming.push_back({last, b_.GetInsertBlock()});
    b_.CreateBr(merge);
  } else {
    b_.CreateUnreachable();
  }
  for (auto* bb : failures) {
    b_.SetInsertPoint(bb);
    if (dead()) {
      b_.CreateUnreachable();
      continue;
    }
    LVal z = last.kind == LVal::Ptr ? LVal{llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx_)), LVal::Ptr}
             : last.kind == LVal::Bool ? LVal{b_.getFalse(), LVal::Bool} : zero();
    incoming.push_back({z, bb});
    b_.CreateBr(merge);
  }
  return join(merge, incoming, last.kind);
}

LVal Lowerer::f_or(Value* form) {
  std::vector<Value*> parts = list_items(cdr(form));
  if (parts.empty()) return zero();
  auto* merge = llvm::BasicBlock::Create(ctx_, "or.end", fn_);
  std::vector<std::pair<LVal, llvm::BasicBlock*>> incoming;
  LVal::Kind kind = LVal::Int;
  for (size_t i = 0; i < parts.size(); ++i) {
    LVal v = lower(parts[i]);
    if (v.kind == LVal::Ptr) kind = LVal::Ptr;
    if (dead()) {
      b_.CreateUnreachable();
      break;
    }
    if (i + 1 == parts.size()) {
      incoming.push_back({v, b_.GetInsertBlock()});
      b_.CreateBr(merge);
      break;
    }
    auto* next = llvm::BasicBlock::Create(ctx_, "or.next", fn_);
    incoming.push_back({v, b_.GetInsertBlock()});
    b_.CreateCondBr(as_cond(v), merge, next);
    b_.SetInsertPoint(next);
  }
  return join(merge, incoming, kind);
}

LVal Lowerer::f_not(Value* form) {
  auto args = args_of(form, 1, 1, "(not X)");
  LVal v = lower(args[0]);
  return {b_.CreateNot(as_cond(v)), LVal::Bool};
}

// (%opaque X): X unchanged, but LLVM may not reason about how it was computed
// (llvm.bpf.passthrough, removed by the BPF backend after optimisation). The
// packet library wraps "pointer or 0" results in it, so the null test stays a
// test of the pointer, which the verifier understands.
LVal Lowerer::f_opaque(Value* form) {
  auto args = args_of(form, 1, 1, "(%opaque X)");
  LVal v = lower(args[0]);
  if (v.kind != LVal::Ptr) return v;
  llvm::Type* ptr = llvm::PointerType::getUnqual(ctx_);
  llvm::Function* passthrough = llvm::Intrinsic::getDeclaration(m_.get(), llvm::Intrinsic::bpf_passthrough, {ptr, ptr});
  return {b_.CreateCall(passthrough, {b_.getInt32(passthrough_seq_++), v.v}), LVal::Ptr};
}

LVal Lowerer::f_on_return(Value* form) {
  Value* cleanup = nth(form, 1);
  if (!cleanup || !is_list(cleanup)) fail(form, "malformed %on-return");
  cleanups_.push_back({cleanup, returns_.size(), vars_});
  LVal result;
  try {
    result = lower_body(cdr(cdr(form)));
  } catch (...) {
    cleanups_.pop_back();
    throw;
  }
  cleanups_.pop_back();
  return result;
}

LVal Lowerer::f_quote(Value* form) {
  fail(form, "quoted data has no value in a BPF program", "quote belongs in macro bodies, which run at compile time");
}

LVal Lowerer::f_let(Value* form) {
  bool sequential = head_symbol(form) == WSYM("let*");
  Value* bindings = nth(form, 1);
  Value* body = cdr(cdr(form));
  // Leading (declare (type T v...)) forms give variables their types.
  std::unordered_map<const Symbol*, Value*> declared;
  for (Value* f : items(body)) {
    if (!is_form(f, WSYM("declare"))) break;
    for (Value* d : items(cdr(f)))
      if (is_form(d, WSYM("type")) && nth(d, 1))
        for (Value* v : items(cdr(cdr(d))))
          if (v->tag == Tag::Sym) declared[v->sym] = nth(d, 1);
  }
  size_t mark = vars_.size();
  std::vector<std::pair<Var, LVal>> pending;
  for (Value* binding : items(bindings)) {
    set_location(loc_of(binding));
    Value* name = binding->tag == Tag::Cons ? car(binding) : binding;
    long n = binding->tag == Tag::Cons ? list_length(binding) : 1;
    Value* type_spec = n == 3 ? nth(binding, 1) : nullptr;
    Value* init = n == 3 ? nth(binding, 2) : n == 2 ? nth(binding, 1) : nullptr;
    // (v TYPE) without init: TYPE is a symbol naming a type, not a variable.
    if (n == 2 && init->tag == Tag::Sym &&
        (scalar_type_named(init->sym) || module_.find_struct(init->sym)) && !find_var(init->sym)) {
      type_spec = init;
      init = nullptr;
    }
    if (!type_spec)
      if (auto d = declared.find(name->sym); d != declared.end()) type_spec = d->second;

    LVal value;
    bool is_ptr = false;
    unsigned bits = 64;
    bool is_signed = false;
    const StructDef* record = type_spec && type_spec->tag == Tag::Sym ? module_.find_struct(type_spec->sym) : nullptr;
    if (record) {
      // A struct-typed variable holds a pointer: to a fresh zeroed stack struct, or to the init's memory.
      is_ptr = true;
      if (init) {
        value = lower(init);
        if (value.kind != LVal::Ptr && !(value.kind == LVal::Int && llvm::isa<llvm::ConstantInt>(value.v)))
          fail(init, fmt::format("variable {} of type {} needs a pointer to a {}", name->sym->name, record->name->name, record->name->name));
      } else {
        auto* slot = entry_alloca(llvm::ArrayType::get(b_.getInt8Ty(), record->size), record->align, elf_name(record->name->name).c_str());
        b_.CreateMemSet(slot, b_.getInt8(0), record->size, llvm::MaybeAlign(record->align));
        value = {slot, LVal::Ptr};
      }
    } else {
      if (type_spec) {
        Type t = scalar_type(type_spec, "let");
        bits = t.bits;
        is_signed = t.is_signed;
      }
      try {
        value = init ? lower(init) : zero();
      } catch (const AbortForm&) {
        value = zero();  // reported; bind the variable anyway so its uses are checked too
      }
      // A u64 binding of a pointer stays a pointer (pointers are 64-bit values).
      is_ptr = value.kind == LVal::Ptr && bits == 64;
    }
    // After a return the rest is never run, but it is still lowered (and
    // checked) with its variables bound: a missing binding would turn the
    // body's pointers into integers and report errors that are not there.
    Var var = make_var(name->sym, is_ptr, bits, is_signed);
    if (sequential) {
      store_var(var, value);
      vars_.push_back(var);
    } else {
      pending.push_back({var, value});
    }
  }
  for (auto& [var, value] : pending) {
    store_var(var, value);
    vars_.push_back(var);
  }
  LVal result = lower_body(body);
  vars_.resize(mark);
  return result;
}

LVal Lowerer::f_setq(Value* form) {
  auto args = args_of(form, 2, 2, "(setf VAR VALUE)");
  Value* name = args[0];
  Var* var = name->tag == Tag::Sym ? find_var(name->sym) : nullptr;
  if (!var) {
    if (name->tag == Tag::Sym && name->sym == WSYM("ctx")) fail(name, "the program context cannot be reassigned");
    std::vector<std::string> candidates;
    for (const auto& v : vars_) candidates.push_back(v.name->name);
    fail(name, fmt::format("cannot assign to unknown variable '{}'", print(name)),
         name->tag == Tag::Sym ? suggestion(name->sym->name, candidates) : "");
  }
  LVal v = lower(args[1]);
  if (dead()) return zero();
  var = find_var(name->sym);  // the vector may have grown while lowering the value
  store_var(*var, v);
  return v;
}

// (return [VALUE]) leaves the program, also from inside a function (the
// with-* forms rely on it); (return-from NAME [VALUE]) leaves the function
// (or program) NAME.
LVal Lowerer::f_return(Value* form) {
  bool from = head_symbol(form) == WSYM("return-from");
  auto args = from ? args_of(form, 1, 2, "(return-from NAME [VALUE])") : args_of(form, 0, 1, "(return [VALUE])");
  // By index: lowering the value may inline a defun, which grows returns_.
  size_t target_index = 0;
  if (from) {
    Value* name = args[0];
    bool found = false;
    for (size_t k = returns_.size(); k-- > 0;)
      if (name->tag == Tag::Sym && returns_[k].name == name->sym) {
        target_index = k;
        found = true;
        break;
      }
    if (!found)
      fail(name, fmt::format("return-from {}: not inside a function or program of that name", print(name)),
           "(return-from NAME VALUE) leaves the defun NAME; (return VALUE) leaves the program");
    args.erase(args.begin());
  }
  LVal v = args.empty() ? zero() : lower(args[0]);
  if (dead()) return zero();
  // Cleanups of the scopes being left, innermost first; a cleanup's own
  // returns must not run it again.
  std::vector<Cleanup> pending = cleanups_;
  for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
    if (it->return_depth <= target_index) continue;
    cleanups_.resize(static_cast<size_t>(pending.rend() - it - 1));
    std::vector<Var> here = std::move(vars_);
    vars_ = it->vars;
    lower_body(it->forms);
    vars_ = std::move(here);
  }
  cleanups_ = pending;
  if (dead()) return zero();
  set_location(loc_of(form));  // the exit is the return's, not its value's last subform's
  ReturnTarget* target = &returns_[target_index];
  if (target->program) {
    b_.CreateRet(b_.CreateTrunc(as_int(v), b_.getInt32Ty()));
  } else {
    target->incoming.push_back({v, b_.GetInsertBlock()});
    b_.CreateBr(target->exit);
  }
  start_dead_block();
  return zero();
}

LVal Lowerer::f_loop(Value* form) {
  Value* var_name = nth(form, 1);
  int64_t start = constant_operand(nth(form, 2), "loop start");
  int64_t end = constant_operand(nth(form, 3), "loop bound");
  if (end - start > 1'000'000)
    fail(form, fmt::format("loop of {} iterations is too long for the verifier", end - start),
         "the kernel verifies every iteration of a bounded loop; keep loops short");
  // The loop runs on a counter of its own; the variable the body sees is a
  // copy made each iteration, so assigning it cannot unbound the loop.
  Var counter = make_var(var_name->sym, false, 64, false);
  Var var = make_var(var_name->sym, false, 64, false);
  b_.CreateStore(b_.getInt64(static_cast<uint64_t>(start)), counter.slot);
  auto* head = llvm::BasicBlock::Create(ctx_, "loop.head", fn_);
  auto* body = llvm::BasicBlock::Create(ctx_, "loop.body", fn_);
  auto* exit = llvm::BasicBlock::Create(ctx_, "loop.end", fn_);
  b_.CreateBr(head);
  b_.SetInsertPoint(head);
  llvm::Value* i = b_.CreateLoad(b_.getInt64Ty(), counter.slot);
  b_.CreateCondBr(b_.CreateICmpSLT(i, b_.getInt64(static_cast<uint64_t>(end))), body, exit);
  b_.SetInsertPoint(body);
  b_.CreateStore(i, var.slot);
  vars_.push_back(var);
  lower_body(cdr(cdr(cdr(cdr(form)))));
  vars_.pop_back();
  if (!dead()) {
    llvm::Value* cur = b_.CreateLoad(b_.getInt64Ty(), counter.slot);
    b_.CreateStore(b_.CreateAdd(cur, b_.getInt64(1)), counter.slot);
    b_.CreateBr(head);
  } else {
    b_.CreateUnreachable();
  }
  b_.SetInsertPoint(exit);
  return zero();
}

// ---- Arithmetic ------------------------------------------------------------------------

LVal Lowerer::f_add(Value* form) {
  std::vector<Value*> args = list_items(cdr(form));
  if (args.empty()) return zero();
  std::vector<LVal> vals;
  for (Value* a : args) vals.push_back(lower(a));
  LVal* base = nullptr;
  for (auto& v : vals)
    if (v.kind == LVal::Ptr) {
      if (base) fail(form, "cannot add two pointers", "subtract them to get a length: (- END START)");
      base = &v;
    }
  llvm::Value* sum = nullptr;
  for (auto& v : vals) {
    if (&v == base) continue;
    llvm::Value* x = as_int(v);
    sum = sum ? b_.CreateAdd(sum, x) : x;
  }
  if (!base) return integer(sum);
  return {sum ? byte_offset(base->v, sum) : base->v, LVal::Ptr};
}

LVal Lowerer::f_sub(Value* form) {
  auto args = args_of(form, 1, SIZE_MAX, "(- A B...)");
  LVal first = lower(args[0]);
  if (args.size() == 1) return integer(b_.CreateNeg(int_operand_value_check(first, form)));
  std::vector<LVal> rest;
  for (size_t i = 1; i < args.size(); ++i) rest.push_back(lower(args[i]));
  if (first.kind == LVal::Ptr && rest[0].kind == LVal::Ptr) {
    // A length: the difference of the two pointers as pointers, each opaque
    // through code generation (else LLVM, or the DAG, may fold the pointer
    // arithmetic around them into arithmetic on data_end, or a pointer plus
    // ~pointer, which the verifier refuses), and itself opaque so it cannot
    // be reassociated either. A comparison of it with a constant is still
    // turned into a pointer comparison by the bounds pass.
    // (- END START N...) is the length less the integers after it.
    llvm::Value* a = b_.CreatePtrToInt(emit_opaque(b_, first.v), b_.getInt64Ty());
    llvm::Value* c = b_.CreatePtrToInt(emit_opaque(b_, rest[0].v), b_.getInt64Ty());
    first = integer(emit_opaque(b_, b_.CreateSub(a, c)));
    rest.erase(rest.begin());
    if (rest.empty()) return first;
  }
  if (first.kind == LVal::Ptr) {
    llvm::Value* total = nullptr;
    for (auto& r : rest) {
      if (r.kind == LVal::Ptr) fail(form, "(- PTR ...) can subtract one pointer from another, or integers from a pointer");
      total = total ? b_.CreateAdd(total, as_int(r)) : as_int(r);
    }
    return {b_.CreateInBoundsGEP(b_.getInt8Ty(), first.v, b_.CreateNeg(total)), LVal::Ptr};
  }
  llvm::Value* acc = as_int(first);
  for (auto& r : rest) {
    if (r.kind == LVal::Ptr)
      fail(form, "cannot subtract a pointer from an integer", "(- END START) gives a length; (- PTR N) a pointer N bytes back");
    acc = b_.CreateSub(acc, as_int(r));
  }
  return integer(acc);
}

llvm::Value* Lowerer::int_operand_value_check(LVal v, Value* form) {
  if (v.kind == LVal::Ptr) fail(form, fmt::format("({} ...) expects integers, got a pointer", head_symbol(form)->name));
  return as_int(v);
}

LVal Lowerer::f_arith(Value* form) {
  const Symbol* h = head_symbol(form);
  auto args = args_of(form, 1, SIZE_MAX, "(OP A B...)");
  std::vector<llvm::Value*> vals;
  for (Value* a : args) vals.push_back(int_operand_value_check(lower(a), form));
  llvm::Value* acc = vals[0];
  if ((h == WSYM("/") || h == WSYM("mod") || h == WSYM("rem")) && vals.size() != 2)
    fail(form, fmt::format("({} A B) takes two arguments", h->name));
  for (size_t i = 1; i < vals.size(); ++i) {
    llvm::Value* x = vals[i];
    if (h == WSYM("*")) acc = b_.CreateMul(acc, x);
    else if (h == WSYM("logand")) acc = b_.CreateAnd(acc, x);
    else if (h == WSYM("logior")) acc = b_.CreateOr(acc, x);
    else if (h == WSYM("logxor")) acc = b_.CreateXor(acc, x);
    else {
      if (auto* c = llvm::dyn_cast<llvm::ConstantInt>(x); c && c->isZero()) fail(form, "division by zero");
      acc = divide(acc, x, h == WSYM("/"));
    }
  }
  return integer(acc);
}

// Unsigned division or remainder with BPF's meaning for a zero divisor
// (x / 0 = 0, x mod 0 = x), which LLVM leaves undefined: a run-time divisor
// is tested first, so no path divides by zero and LLVM has nothing to assume.
llvm::Value* Lowerer::divide(llvm::Value* x, llvm::Value* divisor, bool quotient) {
  if (llvm::isa<llvm::ConstantInt>(divisor)) return quotient ? b_.CreateUDiv(x, divisor) : b_.CreateURem(x, divisor);
  llvm::BasicBlock* from = b_.GetInsertBlock();
  auto* nonzero = llvm::BasicBlock::Create(ctx_, "div.nonzero", fn_);
  auto* done = llvm::BasicBlock::Create(ctx_, "div.end", fn_);
  b_.CreateCondBr(b_.CreateICmpEQ(divisor, b_.getInt64(0)), done, nonzero);
  b_.SetInsertPoint(nonzero);
  llvm::Value* r = quotient ? b_.CreateUDiv(x, divisor) : b_.CreateURem(x, divisor);
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
  llvm::PHINode* phi = b_.CreatePHI(b_.getInt64Ty(), 2);
  phi->addIncoming(quotient ? static_cast<llvm::Value*>(b_.getInt64(0)) : x, from);
  phi->addIncoming(r, nonzero);
  return phi;
}

LVal Lowerer::f_lognot(Value* form) {
  auto args = args_of(form, 1, 1, "(lognot X)");
  return integer(b_.CreateNot(int_operand_value_check(lower(args[0]), form)));
}

LVal Lowerer::f_shift(Value* form) {
  const Symbol* h = head_symbol(form);
  auto args = args_of(form, 2, 2, h == WSYM("ash") ? "(ash X N): N > 0 shifts left, N < 0 right" : "(<< X N) or (>> X N)");
  llvm::Value* x = int_operand_value_check(lower(args[0]), form);
  if (h == WSYM("ash")) {
    int64_t n = constant_operand(args[1], "ash shift amount");
    if (n >= 64 || n <= -64) return zero();
    return integer(n >= 0 ? b_.CreateShl(x, static_cast<uint64_t>(n)) : b_.CreateLShr(x, static_cast<uint64_t>(-n)));
  }
  // The count is taken modulo 64, as BPF's shift instructions take it; LLVM
  // leaves a count of 64 or more undefined.
  llvm::Value* n = b_.CreateAnd(int_operand_value_check(lower(args[1]), form), b_.getInt64(63));
  return integer(h == WSYM("<<") ? b_.CreateShl(x, n) : b_.CreateLShr(x, n));
}

LVal Lowerer::f_compare(Value* form) {
  const Symbol* h = head_symbol(form);
  auto args = args_of(form, 2, 2, "(OP A B)");
  LVal a = lower(args[0]);
  LVal c = lower(args[1]);
  using P = llvm::CmpInst::Predicate;
  P pred;
  const std::string& n = h->name;
  if (n == "=") pred = P::ICMP_EQ;
  else if (n == "/=" || n == "!=") pred = P::ICMP_NE;
  else if (n == "<") pred = P::ICMP_ULT;
  else if (n == ">") pred = P::ICMP_UGT;
  else if (n == "<=") pred = P::ICMP_ULE;
  else if (n == ">=") pred = P::ICMP_UGE;
  else if (n == "s<") pred = P::ICMP_SLT;
  else if (n == "s>") pred = P::ICMP_SGT;
  else if (n == "s<=") pred = P::ICMP_SLE;
  else pred = P::ICMP_SGE;
  // Pointers compare as pointers (what the verifier needs for bounds checks);
  // a pointer against 0 is a null test.
  if (a.kind == LVal::Ptr || c.kind == LVal::Ptr) {
    auto is_zero = [](LVal v) {
      auto* k = llvm::dyn_cast<llvm::ConstantInt>(v.v);
      return v.kind == LVal::Int && k && k->isZero();
    };
    if ((a.kind == LVal::Ptr || is_zero(a)) && (c.kind == LVal::Ptr || is_zero(c)))
      return {b_.CreateICmp(pred, as_ptr(a), as_ptr(c)), LVal::Bool};
  }
  return {b_.CreateICmp(pred, as_int(a), as_int(c)), LVal::Bool};
}

LVal Lowerer::f_minmax(Value* form) {
  bool is_max = head_symbol(form) == WSYM("max");
  auto args = args_of(form, 2, SIZE_MAX, "(min A B...) / (max A B...)");
  llvm::Value* acc = int_operand_value_check(lower(args[0]), form);
  for (size_t i = 1; i < args.size(); ++i) {
    llvm::Value* x = int_operand_value_check(lower(args[i]), form);
    acc = b_.CreateSelect(is_max ? b_.CreateICmpUGT(acc, x) : b_.CreateICmpULT(acc, x), acc, x);
  }
  return integer(acc);
}

LVal Lowerer::f_byteswap(Value* form) {
  const std::string& n = head_symbol(form)->name;
  auto args = args_of(form, 1, 1, "(ntohs X)");
  llvm::Value* x = int_operand_value_check(lower(args[0]), form);
  unsigned bits = (n == "ntohs" || n == "htons") ? 16 : (n == "ntohl" || n == "htonl") ? 32 : 64;
  llvm::Value* narrow = bits == 64 ? x : b_.CreateTrunc(x, int_ty(bits));
  llvm::Value* swapped = b_.CreateUnaryIntrinsic(llvm::Intrinsic::bswap, narrow);
  return integer(bits == 64 ? swapped : b_.CreateZExt(swapped, b_.getInt64Ty()));
}

LVal Lowerer::f_cast(Value* form) {
  auto args = args_of(form, 2, 2, "(cast TYPE X)");
  Type t = scalar_type(args[0], "cast");
  LVal v = lower(args[1]);
  if (v.kind == LVal::Ptr && t.bits == 64) return v;
  return integer(fit_to(as_int(v), t.bits, t.is_signed));
}

// ---- Memory ------------------------------------------------------------------------------

LVal Lowerer::f_load(Value* form) {
  auto args = args_of(form, 2, 3, "(load TYPE PTR [OFFSET])");
  Type t = scalar_type(args[0], "load");
  LVal p = lower(args[1]);
  if (p.kind != LVal::Ptr) {
    if (auto* c = llvm::dyn_cast<llvm::ConstantInt>(p.v); c && c->isZero())
      fail(args[1], "load through a null pointer");
  }
  llvm::Value* off = args.size() == 3 ? int_operand(args[2], "load offset") : b_.getInt64(0);
  llvm::Value* addr = byte_offset(as_ptr(p), off);
  set_location(loc_of(form));
  auto* ld = b_.CreateAlignedLoad(int_ty(t.bits), addr, llvm::Align(t.bits / 8));
  return integer(t.bits == 64 ? static_cast<llvm::Value*>(ld) : extend(ld, t.is_signed));
}

LVal Lowerer::f_store(Value* form) {
  auto args = args_of(form, 4, 4, "(store TYPE PTR OFFSET VALUE)");
  Type t = scalar_type(args[0], "store");
  LVal p = lower(args[1]);
  llvm::Value* off = int_operand(args[2], "store offset");
  LVal v = lower(args[3]);
  llvm::Value* addr = byte_offset(as_ptr(p), off);
  set_location(loc_of(form));
  llvm::Value* x = as_int(v);
  if (t.bits < 64) x = b_.CreateTrunc(x, int_ty(t.bits));
  b_.CreateAlignedStore(x, addr, llvm::Align(t.bits / 8));
  return v;
}

void Lowerer::atomic_add(llvm::Value* ptr, llvm::Value* delta64, unsigned bits, bool percpu) {
  llvm::Value* delta = bits == 64 ? delta64 : b_.CreateTrunc(delta64, int_ty(bits));
  if (percpu || bits < 32) {
    // Per-CPU values need no atomics; BPF has no 8/16-bit atomics.
    auto* old = b_.CreateAlignedLoad(int_ty(bits), ptr, llvm::Align(bits / 8));
    b_.CreateAlignedStore(b_.CreateAdd(old, delta), ptr, llvm::Align(bits / 8));
    return;
  }
  // The result stays unused so LLVM emits a plain atomic add, not fetch-add (kernel >= 5.12).
  b_.CreateAtomicRMW(llvm::AtomicRMWInst::Add, ptr, delta, llvm::MaybeAlign(bits / 8), llvm::AtomicOrdering::SequentiallyConsistent);
}

LVal Lowerer::f_atomic_add(Value* form) {
  auto args = args_of(form, 3, 4, "(atomic-add PTR OFFSET DELTA [TYPE])");
  LVal p = lower(args[0]);
  llvm::Value* off = int_operand(args[1], "atomic-add offset");
  llvm::Value* delta = int_operand(args[2], "atomic-add delta");
  Type t = args.size() == 4 ? scalar_type(args[3], "atomic-add") : Type::integer(64);
  if (t.bits < 32) fail(form, "atomic-add works on u32 and u64 values", "BPF has no 8- or 16-bit atomic operations");
  set_location(loc_of(form));
  atomic_add(byte_offset(as_ptr(p), off), delta, t.bits, false);
  return zero();
}

LVal Lowerer::f_memset(Value* form) {
  auto args = args_of(form, 4, 4, "(memset PTR OFFSET VALUE N)");
  LVal p = lower(args[0]);
  llvm::Value* off = int_operand(args[1], "memset offset");
  llvm::Value* value = int_operand(args[2], "memset value");
  int64_t n = constant_operand(args[3], "memset length");
  if (n < 0 || n > 512) fail(args[3], "memset length must be between 0 and 512 (the BPF stack size)");
  set_location(loc_of(form));
  b_.CreateMemSet(byte_offset(as_ptr(p), off), b_.CreateTrunc(value, b_.getInt8Ty()), static_cast<uint64_t>(n), llvm::MaybeAlign(1));
  return zero();
}

LVal Lowerer::f_memcpy(Value* form) {
  auto args = args_of(form, 3, 3, "(memcpy DST SRC N)");
  LVal dst = lower(args[0]);
  LVal src = lower(args[1]);
  int64_t n = constant_operand(args[2], "memcpy length");
  if (n < 0 || n > 512) fail(args[2], "memcpy length must be between 0 and 512");
  if (dst.kind != LVal::Ptr) fail(args[0], "memcpy destination must be a pointer");
  if (src.kind != LVal::Ptr) fail(args[1], "memcpy source must be a pointer");
  set_location(loc_of(form));
  b_.CreateMemCpy(dst.v, llvm::MaybeAlign(1), src.v, llvm::MaybeAlign(1), static_cast<uint64_t>(n));
  return zero();
}

LVal Lowerer::f_stack_addr(Value* form) {
  auto args = args_of(form, 1, 1, "(stack-addr VAR)");
  Var* v = args[0]->tag == Tag::Sym ? find_var(args[0]->sym) : nullptr;
  if (!v) fail(args[0], fmt::format("stack-addr needs a local variable, got {}", print(args[0])));
  return {v->slot, LVal::Ptr};
}

LVal Lowerer::f_stack_alloc(Value* form) {
  int64_t size = nth(form, 1)->i;
  int64_t align = nth(form, 2) ? nth(form, 2)->i : 8;
  if (size > 512) fail(form, fmt::format("a {}-byte stack buffer does not fit in the 512-byte BPF stack", size));
  auto* slot = entry_alloca(llvm::ArrayType::get(b_.getInt8Ty(), static_cast<uint64_t>(size)), static_cast<uint64_t>(std::max<int64_t>(align, 1)), "buf");
  b_.CreateMemSet(slot, b_.getInt8(0), static_cast<uint64_t>(size), llvm::MaybeAlign(static_cast<uint64_t>(std::max<int64_t>(align, 1))));
  return {slot, LVal::Ptr};
}

LVal Lowerer::f_ctx(Value* form) {
  auto args = args_of(form, 1, 1, "(ctx FIELD)");
  const CtxField* f = args[0]->tag == Tag::Sym ? find_ctx_field(args[0]->sym) : nullptr;
  if (!f)
    fail(args[0], fmt::format("xdp_md has no field {}", print(args[0])),
         "fields: data data-end data-meta ingress-ifindex rx-queue-index egress-ifindex");
  if (f->pointer) return {emit_ctx_pointer(b_, ctx_arg_, f->offset), LVal::Ptr};
  // Through an empty asm, as the pointer fields are: the code generator's
  // tail merging would otherwise merge this load with an identical-looking
  // load of the packet or a map value that ends another block
  // (`r1 = *(u32 *)(r1 + 12)` on both paths), and the verifier refuses one
  // instruction that reads the context on one path and other memory on
  // another ("same insn cannot be used with different pointers").
  return integer(emit_opaque(b_, b_.CreateZExt(emit_ctx_load(b_, ctx_arg_, f->offset), b_.getInt64Ty())));
}

LVal Lowerer::f_ctx_store(Value* form) {
  const CtxField* f = nth(form, 1)->tag == Tag::Sym ? find_ctx_field(nth(form, 1)->sym) : nullptr;
  // The kernel lets only offloaded programs write rx_queue_index (for RSS).
  if (!f || f->offset != 16)
    fail(nth(form, 1), fmt::format("(ctx {}) is read-only", print(nth(form, 1))),
         "XDP programs may only write rx-queue-index, and only when offloaded to a NIC");
  LVal v = lower(nth(form, 2));
  b_.CreateAlignedStore(b_.CreateTrunc(as_int(v), b_.getInt32Ty()), byte_offset(ctx_arg_, b_.getInt64(f->offset)), llvm::Align(4));
  return v;
}

// ---- Maps ----------------------------------------------------------------------------------

// Maps that hold programs or send frames to them (prog-array, devmap,
// devmap-hash, cpumap): the kernel ties such a map to the first program
// loaded with it, and refuses a later one that differs in xdp.frags, or (a
// prog-array) in expected attach type: a devmap or cpumap program
// (xdp/devmap, xdp/cpumap) and an interface program cannot share one.
static std::string xdp_attach_kind(const std::string& section) {
  if (section == "xdp/devmap" || section == "xdp.frags/devmap") return "a devmap program";
  if (section == "xdp/cpumap" || section == "xdp.frags/cpumap") return "a cpumap program";
  return "an interface program";
}

void Lowerer::check_map_owner(const MapDef& m, Value* form) {
  if (m.kind != MapKind::ProgArray && m.kind != MapKind::Devmap && m.kind != MapKind::DevmapHash && m.kind != MapKind::Cpumap)
    return;
  bool frags = program_->section.rfind("xdp.frags", 0) == 0;
  std::string attach = xdp_attach_kind(program_->section);
  auto [it, fresh] = map_owners_.try_emplace(&m, MapOwner{program_, frags, attach, loc_of(form)});
  if (fresh) return;
  if (it->second.frags != frags) {
    diags_.error(loc_of(form), fmt::format("program '{}' ({}) uses map '{}', which program '{}' ({}) uses too", program_->name->name,
                                           frags ? "xdp.frags" : "not xdp.frags", m.name->name, it->second.program->name->name,
                                           it->second.frags ? "xdp.frags" : "not xdp.frags"))
        .with_note(it->second.loc, "the other use is here")
        .with_hint("the kernel refuses to load programs that share a prog-array, devmap or cpumap unless all or none are "
                   "xdp.frags programs: give both the same section kind, or each its own map");
    return;
  }
  if (m.kind == MapKind::ProgArray && it->second.attach != attach) {
    diags_.error(loc_of(form), fmt::format("program '{}' ({}, section \"{}\") uses prog-array '{}', which program '{}' ({}, section \"{}\") uses too",
                                           program_->name->name, attach, program_->section, m.name->name,
                                           it->second.program->name->name, it->second.attach, it->second.program->section))
        .with_note(it->second.loc, "the other use is here")
        .with_hint("the kernel refuses a tail-call map shared by programs of different attach types (xdp/devmap, "
                   "xdp/cpumap and the others): give each kind its own prog-array");
  }
}

const MapDef& Lowerer::map_operand(Value* form, const char* op) {
  if (form->tag == Tag::Sym) {
    if (const MapDef* m = module_.find_map(form->sym)) {
      check_map_owner(*m, form);
      return *m;
    }
    if (module_.poisoned.count(form->sym)) throw AbortForm{};
  }
  std::vector<std::string> names;
  for (const auto& m : module_.maps) names.push_back(m.name->name);
  std::string hint = form->tag == Tag::Sym ? suggestion(form->sym->name, names) : "";
  fail(form, fmt::format("{} needs a map, got {}", op, print(form)), hint.empty() ? "define maps with (defmap NAME :type ...)" : hint);
}

llvm::Value* Lowerer::spill(LVal v, unsigned bytes, const char* name) {
  auto* slot = entry_alloca(int_ty(bytes * 8), bytes >= 8 ? 8 : bytes, name);
  b_.CreateStore(b_.CreateTrunc(as_int(v), int_ty(bytes * 8)), slot);
  return slot;
}

llvm::Value* Lowerer::key_pointer(const MapDef& m, Value* form, LVal key) {
  if (key.kind == LVal::Ptr) return key.v;
  if (m.key_size > 8)
    fail(form, fmt::format("map '{}' has {}-byte keys: pass a pointer to the key", m.name->name, m.key_size),
         "build the key in a struct, e.g. (let ((k (make-KEY))) ... (getmap m k))");
  return spill(key, m.key_size, "key");
}

llvm::Value* Lowerer::key_operand(const MapDef& m, Value* form) {
  if (is_form(form, WSYM("load")) && list_length(form) >= 3) {
    Value* type = nth(form, 1);
    auto t = type->tag == Tag::Sym ? scalar_type_named(type->sym) : std::nullopt;
    if (t && t->size() == m.key_size) {
      LVal p = lower(nth(form, 2));
      llvm::Value* off = nth(form, 3) ? int_operand(nth(form, 3), "load offset") : b_.getInt64(0);
      llvm::Value* address = byte_offset(as_ptr(p), off);
      if (p.kind == LVal::Ptr) return address;
      return key_pointer(m, form, integer(b_.CreateAlignedLoad(int_ty(t->bits), address, llvm::Align(t->bits / 8))));
    }
  }
  return key_pointer(m, form, lower(form));
}

llvm::Value* Lowerer::value_pointer(const MapDef& m, Value* form, LVal value) {
  if (value.kind == LVal::Ptr) return value.v;
  if (m.value_size > 8 || m.value_is_record)
    fail(form, fmt::format("map '{}' has {}-byte {} values: pass a pointer to the value", m.name->name, m.value_size,
                           m.value_type ? m.value_type->name() : "record"),
         "build the value in a struct with (make-STRUCT) and set its fields");
  return spill(value, m.value_size, "value");
}

llvm::Value* Lowerer::map_lookup(const MapDef& m, llvm::Value* key_ptr) {
  llvm::Value* call = call_helper(1, llvm::PointerType::getUnqual(ctx_), {map_global(m), key_ptr});
  return call;
}

LVal Lowerer::f_map_lookup(Value* form) {
  bool by_ptr = head_symbol(form) == WSYM("map-lookup-ptr");
  auto args = args_of(form, 2, 2, by_ptr ? "(map-lookup-ptr MAP KEY-PTR)" : "(map-lookup MAP KEY)");
  const MapDef& m = map_operand(args[0], "map-lookup");
  if (!m.has_key_value()) fail(args[0], fmt::format("map '{}' is a ring buffer: it has no lookup", m.name->name));
  llvm::Value* kp;
  if (by_ptr) {
    LVal key = lower(args[1]);
    if (key.kind != LVal::Ptr) fail(args[1], "map-lookup-ptr needs a pointer to the key");
    kp = key.v;
  } else {
    kp = key_operand(m, args[1]);
  }
  set_location(loc_of(form));
  return {map_lookup(m, kp), LVal::Ptr};
}

LVal Lowerer::f_map_update(Value* form) {
  bool by_ptr = head_symbol(form) == WSYM("map-update-ptr");
  auto args = args_of(form, 3, 4, by_ptr ? "(map-update-ptr MAP KEY-PTR VALUE-PTR [FLAGS])" : "(map-update MAP KEY VALUE [FLAGS])");
  const MapDef& m = map_operand(args[0], "map-update");
  if (!m.has_key_value()) fail(args[0], fmt::format("map '{}' is a ring buffer: write records with ringbuf-output or with-ringbuf", m.name->name));
  LVal key = lower(args[1]);
  LVal value = lower(args[2]);
  llvm::Value* flags = args.size() == 4 ? int_operand(args[3], "map-update flags") : b_.getInt64(0);
  if (by_ptr && (key.kind != LVal::Ptr || value.kind != LVal::Ptr)) fail(form, "map-update-ptr needs pointers to the key and the value");
  llvm::Value* kp = key_pointer(m, args[1], key);
  llvm::Value* vp = value_pointer(m, args[2], value);
  set_location(loc_of(form));
  llvm::Value* call = call_helper(2, b_.getInt64Ty(), {map_global(m), kp, vp, flags});
  return integer(call);
}

LVal Lowerer::f_map_delete(Value* form) {
  const Symbol* h = head_symbol(form);
  auto args = args_of(form, 2, 2, "(map-delete MAP KEY)");
  const MapDef& m = map_operand(args[0], h->name.c_str());
  if (!m.has_key_value()) fail(args[0], fmt::format("map '{}' is a ring buffer: it has no entries to delete", m.name->name));
  llvm::Value* kp;
  if (h == WSYM("map-delete-ptr")) {
    LVal key = lower(args[1]);
    if (key.kind != LVal::Ptr) fail(args[1], "map-delete-ptr needs a pointer to the key");
    kp = key.v;
  } else {
    kp = key_operand(m, args[1]);
  }
  set_location(loc_of(form));
  llvm::Value* call = call_helper(3, b_.getInt64Ty(), {map_global(m), kp});
  return integer(call);
}

LVal Lowerer::f_getmap(Value* form) {
  auto args = args_of(form, 2, 2, "(getmap MAP KEY)");
  const MapDef& m = map_operand(args[0], "getmap");
  if (!m.has_key_value()) fail(args[0], fmt::format("map '{}' is a ring buffer: it has no entries to read", m.name->name));
  llvm::Value* kp = key_operand(m, args[1]);
  set_location(loc_of(form));
  llvm::Value* p = map_lookup(m, kp);
  if (m.value_is_record) return {p, LVal::Ptr};
  // Scalar values: the value, or 0 when the key is absent.
  auto* found = llvm::BasicBlock::Create(ctx_, "getmap.found", fn_);
  auto* merge = llvm::BasicBlock::Create(ctx_, "getmap.end", fn_);
  llvm::BasicBlock* from = b_.GetInsertBlock();
  b_.CreateCondBr(b_.CreateIsNotNull(p), found, merge);
  b_.SetInsertPoint(found);
  const Type& vt = *m.value_type;
  llvm::Value* loaded = b_.CreateAlignedLoad(int_ty(vt.bits), p, llvm::Align(vt.bits / 8));
  if (vt.bits < 64) loaded = extend(loaded, vt.is_signed);
  b_.CreateBr(merge);
  b_.SetInsertPoint(merge);
  auto* phi = b_.CreatePHI(b_.getInt64Ty(), 2);
  phi->addIncoming(b_.getInt64(0), from);
  phi->addIncoming(loaded, found);
  return integer(phi);
}

LVal Lowerer::f_setmap(Value* form) {
  auto args = args_of(form, 3, 3, "(setf (getmap MAP KEY) VALUE)");
  const MapDef& m = map_operand(args[0], "setf getmap");
  if (!m.has_key_value()) fail(args[0], fmt::format("map '{}' is a ring buffer: it has no entries", m.name->name));
  llvm::Value* kp = key_operand(m, args[1]);
  LVal value = lower(args[2]);
  llvm::Value* vp = value_pointer(m, args[2], value);
  set_location(loc_of(form));
  call_helper(2, b_.getInt64Ty(), {map_global(m), kp, vp, b_.getInt64(0)});
  return value;
}

LVal Lowerer::f_incf_map(Value* form) {
  auto args = args_of(form, 3, 3, "(incf (getmap MAP KEY) [DELTA])");
  const MapDef& m = map_operand(args[0], "incf getmap");
  if (!m.has_key_value()) fail(args[0], fmt::format("map '{}' is a ring buffer: it has no counters", m.name->name));
  if (m.value_is_record)
    fail(form, fmt::format("map '{}' has {} values: incf needs an integer value", m.name->name, m.value_type->name()),
         "increment a field instead: (when-let ((v (getmap MAP KEY))) (incf (STRUCT-FIELD v)))");
  llvm::Value* kp = key_operand(m, args[1]);
  llvm::Value* delta = int_operand(args[2], "incf delta");
  set_location(loc_of(form));
  unsigned bits = m.value_type->bits;
  bool percpu = m.is_percpu();
  llvm::Value* p = map_lookup(m, kp);
  auto* found = llvm::BasicBlock::Create(ctx_, "incf.found", fn_);
  auto* done = llvm::BasicBlock::Create(ctx_, "incf.end", fn_);
  if (m.is_array_like() || m.kind == MapKind::ProgArray) {
    b_.CreateCondBr(b_.CreateIsNotNull(p), found, done);
  } else {
    // Hash maps: insert DELTA when the key is absent. If another CPU inserted it
    // meanwhile (the insert fails with EEXIST), add to its entry instead.
    auto* insert = llvm::BasicBlock::Create(ctx_, "incf.insert", fn_);
    auto* retry = llvm::BasicBlock::Create(ctx_, "incf.retry", fn_);
    b_.CreateCondBr(b_.CreateIsNotNull(p), found, insert);
    b_.SetInsertPoint(insert);
    llvm::Value* vp = spill(integer(delta), m.value_size, "init");
    llvm::Value* err = call_helper(2, b_.getInt64Ty(), {map_global(m), kp, vp, b_.getInt64(1 /* BPF_NOEXIST */)});
    b_.CreateCondBr(b_.CreateICmpEQ(err, b_.getInt64(0)), done, retry);
    b_.SetInsertPoint(retry);
    llvm::Value* again = map_lookup(m, kp);
    auto* found_again = llvm::BasicBlock::Create(ctx_, "incf.found2", fn_);
    b_.CreateCondBr(b_.CreateIsNotNull(again), found_again, done);
    b_.SetInsertPoint(found_again);
    atomic_add(again, delta, bits, percpu);
    b_.CreateBr(done);
  }
  b_.SetInsertPoint(found);
  atomic_add(p, delta, bits, percpu);
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
  return zero();
}

// ---- Helpers and functions -------------------------------------------------------------------

LVal Lowerer::lower_helper(const HelperInfo& h, Value* form) {
  std::vector<Value*> args = list_items(cdr(form));
  size_t expected = 0;
  for (auto a : h.args) expected += a != HelperArg::Ctx;
  if (args.size() != expected) {
    std::string usage = fmt::format("({}{}{})", h.name, *h.params ? " " : "", h.params);
    fail(form, fmt::format("({} ...) takes {} argument{}, got {}", h.name, expected, expected == 1 ? "" : "s", args.size()),
         "usage: " + usage);
  }
  std::vector<llvm::Value*> values;
  size_t next = 0;
  for (size_t i = 0; i < h.args.size(); ++i) {
    HelperArg kind = h.args[i];
    if (kind == HelperArg::Ctx) {
      values.push_back(ctx_arg_);
      continue;
    }
    Value* a = args[next++];
    size_t user_index = next;
    switch (kind) {
      case HelperArg::Map:
        values.push_back(map_global(map_operand(a, h.name)));
        break;
      case HelperArg::Ptr:
      case HelperArg::PtrOrNull: {
        LVal v = lower(a);
        if (v.kind != LVal::Ptr) {
          auto* c = llvm::dyn_cast<llvm::ConstantInt>(v.v);
          bool null_ok = kind == HelperArg::PtrOrNull && c && c->isZero();
          if (!null_ok)
            fail(a, fmt::format("argument {} of ({} ...) must be a pointer, got an integer", user_index, h.name),
                 "pass a stack buffer (make-STRUCT), a map value, a ring buffer record or a packet pointer");
        }
        values.push_back(as_ptr(v));
        break;
      }
      case HelperArg::Int: {
        LVal v = lower(a);
        if (v.kind == LVal::Ptr)
          fail(a, fmt::format("argument {} of ({} ...) must be an integer, got a pointer", user_index, h.name));
        values.push_back(as_int(v));
        break;
      }
      case HelperArg::Ctx:
        break;
    }
  }
  set_location(loc_of(form));
  llvm::Type* ret = h.result == HelperResult::Ptr ? static_cast<llvm::Type*>(llvm::PointerType::getUnqual(ctx_))
                    : h.result == HelperResult::Void ? b_.getVoidTy() : b_.getInt64Ty();
  llvm::Value* r = call_helper(h.id, ret, values);
  if (h.result == HelperResult::Ptr) return {r, LVal::Ptr};
  if (h.result == HelperResult::Void) return zero();
  return integer(r);
}

LVal Lowerer::f_printk(Value* form) {
  auto args = args_of(form, 1, 4, "(printk \"format %d\" [ARG1 ARG2 ARG3])");
  if (args[0]->tag != Tag::Str) fail(args[0], "printk needs a literal format string first");
  std::string text = *args[0]->str;
  std::vector<llvm::Value*> values;
  for (size_t i = 1; i < args.size(); ++i) values.push_back(as_int(lower(args[i])));
  set_location(loc_of(form));
  // The format is a constant in .rodata, as clang's bpf_printk places it;
  // libbpf (and so bpftool, ip and xdp-loader) turns .rodata into a frozen map.
  size_t len = text.size() + 1;
  auto* init = llvm::ConstantDataArray::getString(ctx_, text, true);
  auto* buf = new llvm::GlobalVariable(*m_, init->getType(), true, llvm::GlobalValue::InternalLinkage, init,
                                       fmt::format("{}.fmt", fn_->getName().str()));
  buf->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
  buf->setAlignment(llvm::Align(1));
  auto* range = dib_->getOrCreateSubrange(0, static_cast<int64_t>(len));
  auto* chars = dib_->createArrayType(len * 8, 8, types_->integer(8, true), dib_->getOrCreateArray({range}));
  buf->addDebugInfo(dib_->createGlobalVariableExpression(sp_, buf->getName(), "", di_file(loc_of(form).file), loc_of(form).line,
                                                         dib_->createQualifiedType(llvm::dwarf::DW_TAG_const_type, chars),
                                                         /*isLocalToUnit=*/true));
  std::vector<llvm::Value*> call_args{buf, b_.getInt64(len)};
  for (auto* v : values) call_args.push_back(v);
  return integer(call_helper(6, b_.getInt64Ty(), call_args));
}

LVal Lowerer::lower_defun(const FunctionDef& fn, Value* form) {
  std::vector<Value*> args = list_items(cdr(form));
  if (args.size() != fn.params.size()) {
    std::string params;
    for (const auto& p : fn.params) params += " " + p.name->name;
    fail(form, fmt::format("function '{}' takes {} argument{}, got {}", fn.name->name, fn.params.size(), fn.params.size() == 1 ? "" : "s", args.size()),
         fmt::format("usage: ({}{})", fn.name->name, params));
  }
  for (const FunctionDef* f : inlining_)
    if (f == &fn)
      fail(form, fmt::format("function '{}' calls itself", fn.name->name), "BPF programs cannot recurse; use a bounded loop");
  std::vector<LVal> values;
  for (Value* a : args) values.push_back(lower(a));
  if (dead()) return zero();
  // Inline the body: parameters become local variables.
  size_t mark = vars_.size();
  std::vector<Var> params;
  for (size_t i = 0; i < args.size(); ++i) {
    const FunctionParam& p = fn.params[i];
    bool is_ptr = values[i].kind == LVal::Ptr && (!p.type || p.type->bits == 64);
    Var v = make_var(p.name, is_ptr, p.type ? p.type->bits : 64, p.type ? p.type->is_signed : false);
    store_var(v, values[i]);
    params.push_back(v);
  }
  // Parameters are visible only to the body, not the caller's variables: hide the caller's scope.
  std::vector<Var> saved(vars_.begin(), vars_.end());
  vars_.clear();
  for (auto& v : params) vars_.push_back(v);
  inlining_.push_back(&fn);
  ReturnTarget target;
  target.program = false;
  target.name = fn.name;
  target.exit = llvm::BasicBlock::Create(ctx_, fmt::format("{}.exit", elf_name(fn.name->name)), fn_);
  returns_.push_back(target);
  LVal result;
  try {
    result = lower_body(fn.body);
  } catch (...) {
    returns_.pop_back();
    inlining_.pop_back();
    vars_ = saved;
    throw;
  }
  ReturnTarget done = std::move(returns_.back());
  returns_.pop_back();
  inlining_.pop_back();
  vars_ = saved;
  vars_.resize(mark);
  if (!dead()) {
    done.incoming.push_back({result, b_.GetInsertBlock()});
    b_.CreateBr(done.exit);
  } else {
    b_.CreateUnreachable();
  }
  return join(done.exit, done.incoming, result.kind);
}

// ---------------------------------------------------------------------------------
// Dispatch table
// ---------------------------------------------------------------------------------

const std::unordered_map<const Symbol*, Lowerer::Handler>& Lowerer::handlers() {
  static const auto* table = [] {
    auto* m = new std::unordered_map<const Symbol*, Handler>();
    auto add = [&](const char* name, Handler h) { (*m)[intern(name)] = h; };
    add("progn", &Lowerer::f_progn);
    add("if", &Lowerer::f_if);
    add("and", &Lowerer::f_and);
    add("or", &Lowerer::f_or);
    add("not", &Lowerer::f_not);
    add("let", &Lowerer::f_let);
    add("let*", &Lowerer::f_let);
    add("setq", &Lowerer::f_setq);
    add("return", &Lowerer::f_return);
    add("return-from", &Lowerer::f_return);
    add("%loop", &Lowerer::f_loop);
    add("declare", &Lowerer::f_declare);
    add("%error", &Lowerer::f_error);
    add("%opaque", &Lowerer::f_opaque);
    add("%on-return", &Lowerer::f_on_return);
    add("quote", &Lowerer::f_quote);
    add("+", &Lowerer::f_add);
    add("-", &Lowerer::f_sub);
    for (const char* op : {"*", "/", "mod", "rem", "logand", "logior", "logxor"}) add(op, &Lowerer::f_arith);
    add("lognot", &Lowerer::f_lognot);
    add("ash", &Lowerer::f_shift);
    add("<<", &Lowerer::f_shift);
    add(">>", &Lowerer::f_shift);
    for (const char* op : {"=", "/=", "!=", "<", ">", "<=", ">=", "s<", "s>", "s<=", "s>="}) add(op, &Lowerer::f_compare);
    add("min", &Lowerer::f_minmax);
    add("max", &Lowerer::f_minmax);
    for (const char* op : {"ntohs", "htons", "ntohl", "htonl", "ntohll", "htonll"}) add(op, &Lowerer::f_byteswap);
    add("cast", &Lowerer::f_cast);
    add("load", &Lowerer::f_load);
    add("store", &Lowerer::f_store);
    add("atomic-add", &Lowerer::f_atomic_add);
    add("memset", &Lowerer::f_memset);
    add("memcpy", &Lowerer::f_memcpy);
    add("stack-addr", &Lowerer::f_stack_addr);
    add("%stack-alloc", &Lowerer::f_stack_alloc);
    add("ctx", &Lowerer::f_ctx);
    add("%ctx-store", &Lowerer::f_ctx_store);
    add("map-lookup", &Lowerer::f_map_lookup);
    add("map-lookup-ptr", &Lowerer::f_map_lookup);
    add("map-update", &Lowerer::f_map_update);
    add("map-update-ptr", &Lowerer::f_map_update);
    add("map-delete", &Lowerer::f_map_delete);
    add("map-delete-ptr", &Lowerer::f_map_delete);
    add("remmap", &Lowerer::f_map_delete);
    add("getmap", &Lowerer::f_getmap);
    add("%setmap", &Lowerer::f_setmap);
    add("%incf-map", &Lowerer::f_incf_map);
    add("printk", &Lowerer::f_printk);
    add("trace-printk", &Lowerer::f_printk);
    return m;
  }();
  return *table;
}

}  // namespace

std::unique_ptr<llvm::Module> lower_module(llvm::LLVMContext& ctx, const Module& module, Diagnostics& diags,
                                           const llvm::DataLayout& layout, const std::string& triple, uint32_t main_file,
                                           const LoweringOptions& options) {
  Lowerer lowerer(ctx, module, diags, main_file, options);
  return lowerer.run(layout, triple);
}

}  // namespace whistler
