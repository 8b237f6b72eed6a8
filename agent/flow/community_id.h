#pragma once
// Community ID v1 (https://github.com/corelight/community-id-spec): a
// flow hash that other tools (Suricata, Zeek) compute the same way, so a
// flow can be found across them. "1:" + base64(SHA-1(seed, addresses,
// protocol, ports)), endpoints ordered so both directions agree.

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/flow/flow.h"

namespace rampart::flow {

// For ICMP/ICMPv6 the "ports" are the client's first type and code (mapped
// to the reply type for request/reply pairs), as the specification says.
std::string CommunityId(const Flow& f, uint16_t seed = 0);
// The same with seed 0, computed once per flow and kept in it.
std::string_view CommunityIdOf(Flow& f);

}  // namespace rampart::flow
