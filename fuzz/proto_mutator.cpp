// A structure-aware protobuf mutation (see fuzz/proto_mutator.h).
#include "fuzz/proto_mutator.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace qf::fuzz {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// A place to mutate: a field of a message, and for repeated fields one index (-1: the field as a
// whole, for adding or removing entries).
struct Site {
  Message* msg;
  const FieldDescriptor* field;
  int index;
};

void collect(Message& m, std::vector<Site>& sites, std::vector<std::string>& strings, int depth) {
  const Reflection* r = m.GetReflection();
  const auto* d = m.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) {
      const int n = r->FieldSize(m, f);
      sites.push_back({&m, f, -1});
      for (int k = 0; k < n; ++k) {
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          if (depth < 8) collect(*r->MutableRepeatedMessage(&m, f, k), sites, strings, depth + 1);
        } else {
          sites.push_back({&m, f, k});
          if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
              f->type() != FieldDescriptor::TYPE_BYTES)
            strings.push_back(r->GetRepeatedString(m, f, k));
        }
      }
      continue;
    }
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      sites.push_back({&m, f, -1});  // clear it
      if (r->HasField(m, f) && depth < 8)
        collect(*r->MutableMessage(&m, f), sites, strings, depth + 1);
      continue;
    }
    sites.push_back({&m, f, 0});
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
        f->type() != FieldDescriptor::TYPE_BYTES && r->HasField(m, f))
      strings.push_back(r->GetString(m, f));
  }
}

int64_t pick_int(int64_t old, std::mt19937_64& rng) {
  static const int64_t special[] = {0,
                                    1,
                                    -1,
                                    2,
                                    3,
                                    4,
                                    7,
                                    -2,
                                    -100,
                                    100,
                                    1 << 16,
                                    int64_t{1} << 31,
                                    int64_t{1} << 32,
                                    int64_t{1} << 62,
                                    std::numeric_limits<int64_t>::max(),
                                    std::numeric_limits<int64_t>::min()};
  switch (rng() % 4) {
    case 0:  // neighbours wrap around at the int64 limits (unsigned arithmetic: defined)
      return static_cast<int64_t>(static_cast<uint64_t>(old) + 1);
    case 1:
      return static_cast<int64_t>(static_cast<uint64_t>(old) - 1);
    case 2:
      return static_cast<int64_t>(rng() % 33) - 16;
    default:
      return special[rng() % (sizeof special / sizeof special[0])];
  }
}

double pick_double(double old, std::mt19937_64& rng) {
  static const double special[] = {0.0,
                                   -0.0,
                                   1.0,
                                   -1.0,
                                   0.5,
                                   6.0,
                                   1e-30,
                                   1e30,
                                   std::numeric_limits<double>::quiet_NaN(),
                                   std::numeric_limits<double>::infinity(),
                                   -std::numeric_limits<double>::infinity()};
  if (rng() % 2) return old * (rng() % 2 ? 2.0 : -1.0);
  return special[rng() % (sizeof special / sizeof special[0])];
}

std::string pick_string(const std::string& old, std::mt19937_64& rng,
                        const std::vector<std::string>& seen,
                        const std::vector<std::string>& extra) {
  const size_t k = rng() % 8;
  if (k < 4 && !seen.empty()) return seen[rng() % seen.size()];
  if (k < 6 && !extra.empty()) return extra[rng() % extra.size()];
  if (k == 6) return "";
  std::string s = old;
  if (!s.empty()) s[rng() % s.size()] = static_cast<char>(rng());
  return s;
}

std::string mutate_bytes(std::string b, std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0:
      b.resize(b.empty() ? 0 : rng() % b.size());
      break;  // truncate
    case 1:
      b.append(1 + rng() % 8, static_cast<char>(rng()));
      break;   // grow
    case 2: {  // a float NaN or inf somewhere aligned
      const uint32_t v = rng() % 2 ? 0x7fc00000u : 0x7f800000u;
      if (b.size() >= 4) std::memcpy(&b[(rng() % (b.size() / 4)) * 4], &v, 4);
      break;
    }
    default:
      if (!b.empty()) b[rng() % b.size()] ^= static_cast<char>(1u << (rng() % 8));
  }
  return b;
}

void mutate_scalar(const Site& s, std::mt19937_64& rng, const std::vector<std::string>& seen,
                   const std::vector<std::string>& extra) {
  Message& m = *s.msg;
  const Reflection* r = m.GetReflection();
  const FieldDescriptor* f = s.field;
  const bool rep = f->is_repeated();
  const int i = s.index;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      const int32_t v = static_cast<int32_t>(
          pick_int(rep ? r->GetRepeatedInt32(m, f, i) : r->GetInt32(m, f), rng));
      rep ? r->SetRepeatedInt32(&m, f, i, v) : r->SetInt32(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      const int64_t v = pick_int(rep ? r->GetRepeatedInt64(m, f, i) : r->GetInt64(m, f), rng);
      rep ? r->SetRepeatedInt64(&m, f, i, v) : r->SetInt64(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      const uint32_t v = static_cast<uint32_t>(
          pick_int(rep ? r->GetRepeatedUInt32(m, f, i) : r->GetUInt32(m, f), rng));
      rep ? r->SetRepeatedUInt32(&m, f, i, v) : r->SetUInt32(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      const uint64_t v = static_cast<uint64_t>(pick_int(
          static_cast<int64_t>(rep ? r->GetRepeatedUInt64(m, f, i) : r->GetUInt64(m, f)), rng));
      rep ? r->SetRepeatedUInt64(&m, f, i, v) : r->SetUInt64(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      const float v = static_cast<float>(
          pick_double(rep ? r->GetRepeatedFloat(m, f, i) : r->GetFloat(m, f), rng));
      rep ? r->SetRepeatedFloat(&m, f, i, v) : r->SetFloat(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      const double v = pick_double(rep ? r->GetRepeatedDouble(m, f, i) : r->GetDouble(m, f), rng);
      rep ? r->SetRepeatedDouble(&m, f, i, v) : r->SetDouble(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      const bool v = !(rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f));
      rep ? r->SetRepeatedBool(&m, f, i, v) : r->SetBool(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* e = f->enum_type();
      const int v = e->value(static_cast<int>(rng() % e->value_count()))->number();
      rep ? r->SetRepeatedEnumValue(&m, f, i, v) : r->SetEnumValue(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string old = rep ? r->GetRepeatedString(m, f, i) : r->GetString(m, f);
      const std::string v = f->type() == FieldDescriptor::TYPE_BYTES
                                ? mutate_bytes(old, rng)
                                : pick_string(old, rng, seen, extra);
      rep ? r->SetRepeatedString(&m, f, i, v) : r->SetString(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
}

// Adds (a copy of an existing entry, or a default one), removes or swaps entries of a repeated
// field; clears a singular message.
void mutate_container(const Site& s, std::mt19937_64& rng) {
  Message& m = *s.msg;
  const Reflection* r = m.GetReflection();
  const FieldDescriptor* f = s.field;
  if (!f->is_repeated()) {
    r->ClearField(&m, f);
    return;
  }
  const int n = r->FieldSize(m, f);
  const int op = static_cast<int>(rng() % 3);
  if (op == 0 && n > 0) {  // remove entry k: swap it to the end, drop the last
    r->SwapElements(&m, f, static_cast<int>(rng() % n), n - 1);
    r->RemoveLast(&m, f);
  } else if (op == 1 && n > 1) {
    r->SwapElements(&m, f, static_cast<int>(rng() % n), static_cast<int>(rng() % n));
  } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    Message* added = r->AddMessage(&m, f);
    if (n > 0) added->CopyFrom(r->GetRepeatedMessage(m, f, static_cast<int>(rng() % n)));
  } else {
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        r->AddInt32(&m, f, static_cast<int32_t>(pick_int(1, rng)));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        r->AddInt64(&m, f, pick_int(1, rng));
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        r->AddUInt32(&m, f, 1);
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        r->AddUInt64(&m, f, 1);
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        r->AddFloat(&m, f, static_cast<float>(pick_double(1.0, rng)));
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        r->AddDouble(&m, f, pick_double(1.0, rng));
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        r->AddBool(&m, f, true);
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        r->AddEnumValue(&m, f, f->enum_type()->value(0)->number());
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        r->AddString(&m, f, n > 0 ? r->GetRepeatedString(m, f, 0) : "");
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        break;
    }
  }
}

}  // namespace

void mutate_message(Message& m, std::mt19937_64& rng,
                    const std::vector<std::string>& extra_strings) {
  std::vector<Site> sites;
  std::vector<std::string> strings;
  collect(m, sites, strings, 0);
  if (sites.empty()) return;
  const Site& s = sites[rng() % sites.size()];
  if (s.index < 0)
    mutate_container(s, rng);
  else
    mutate_scalar(s, rng, strings, extra_strings);
}

}  // namespace qf::fuzz
