#include "common/util/build_info.h"

namespace rampart {

std::string VersionLine(std::string_view program) {
  std::string out(program);
  out += ' ';
  out += BuildVersion();
  out += " (git ";
  out += BuildRevision();
  out += ", ";
  out += BuildType();
  out += ')';
  return out;
}

}  // namespace rampart
