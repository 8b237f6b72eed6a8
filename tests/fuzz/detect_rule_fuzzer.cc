// Any bytes as a Suricata rule file: the parser reports problems and never
// crashes; whatever loads must also build into an engine.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/detect/engine.h"
#include "agent/detect/ruleset.h"
#include "agent/detect/vars.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rampart::detect;
  if (size > 16384) return 0;
  static const RuleVars vars = RuleVars::Defaults();
  static const Classifications classes = Classifications::Builtin();
  RuleLoader loader(vars, classes);
  loader.LoadText(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.rules");
  (void)loader.report().Summary();
  RuleSet rules = loader.Take();
  // Compiling Vectorscan databases is the slow part: only small sets.
  if (rules.rules.size() <= 8) {
    auto engine = Engine::Build(std::move(rules));
    if (engine) (void)Detector::Create(**engine);
  }
  return 0;
}
