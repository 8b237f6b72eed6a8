// controller/registry: a site's link history ("links"), in three tiers that
// each re-aggregate from the tier below when a raw sample arrives.

#include <algorithm>
#include <cstring>

#include "controller/registry/registry_impl.h"

namespace rampart::registry::detail {
namespace {

// Doubles as their bit patterns, big-endian.
void AppendDouble(std::string* out, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof(bits));
  rocks::AppendBigEndian64(out, bits);
}

double ReadDouble(std::string_view b) {
  const uint64_t bits = rocks::ReadBigEndian64(b);
  double d;
  std::memcpy(&d, &bits, sizeof(d));
  return d;
}

constexpr size_t kSampleSize = 49;
constexpr size_t kLinkKeySize = 13;  // tag(1) site(4) start(8)

// The start time in a key (after tag and site).
int64_t StartOf(std::string_view key) { return ReadTime(key.substr(5)); }

}  // namespace

std::string LinkKey(char tier, uint32_t site, int64_t start) {
  std::string k(1, tier);
  AppendU32(&k, site);
  AppendTime(&k, start);
  return k;
}

std::string EncodeSample(const LinkSample& s) {
  std::string out;
  rocks::AppendBigEndian64(&out, static_cast<uint64_t>(s.duration_nanos));
  AppendDouble(&out, s.rtt_ms_avg);
  AppendDouble(&out, s.rtt_ms_max);
  AppendDouble(&out, s.jitter_ms);
  AppendDouble(&out, s.loss_ratio);
  AppendDouble(&out, s.availability);
  out.push_back(static_cast<char>(s.worst));
  return out;
}

std::optional<LinkSample> DecodeSample(int64_t start, std::string_view b) {
  if (b.size() != kSampleSize) return std::nullopt;
  LinkSample s;
  s.start_unix_nanos = start;
  s.duration_nanos = static_cast<int64_t>(rocks::ReadBigEndian64(b));
  s.rtt_ms_avg = ReadDouble(b.substr(8));
  s.rtt_ms_max = ReadDouble(b.substr(16));
  s.jitter_ms = ReadDouble(b.substr(24));
  s.loss_ratio = ReadDouble(b.substr(32));
  s.availability = ReadDouble(b.substr(40));
  s.worst = static_cast<LinkState>(static_cast<uint8_t>(b[48]));
  return s;
}

Status RegistryImpl::AppendLinkSample(std::string_view site_id, const LinkSample& sample) {
  const std::optional<uint32_t> site = FindSiteNumber(site_id);
  if (!site) return NotFoundError("no site '" + std::string(site_id) + "'");
  const uint32_t num = *site;
  rocksdb::WriteBatch batch;
  batch.Put(links_cf_, LinkKey(kTiers[0].tag, num, sample.start_unix_nanos), EncodeSample(sample));
  // Re-aggregate the coarser buckets that contain this sample from the tier
  // below, so a restart never leaves a half-counted bucket.
  for (size_t t = 1; t < std::size(kTiers); ++t) {
    const Tier& tier = kTiers[t];
    const Tier& below = kTiers[t - 1];
    int64_t start = sample.start_unix_nanos - (sample.start_unix_nanos % tier.bucket);
    if (sample.start_unix_nanos < 0 && sample.start_unix_nanos % tier.bucket != 0) start -= tier.bucket;
    LinkSample agg;
    agg.start_unix_nanos = start;
    double weight = 0;
    auto add = [&](const LinkSample& s) {
      const double w = static_cast<double>(s.duration_nanos);
      agg.rtt_ms_avg += s.rtt_ms_avg * w;
      agg.jitter_ms += s.jitter_ms * w;
      agg.loss_ratio += s.loss_ratio * w;
      agg.availability += s.availability * w;
      agg.rtt_ms_max = std::max(agg.rtt_ms_max, s.rtt_ms_max);
      agg.worst = std::max(agg.worst, s.worst);
      weight += w;
    };
    // The raw tier: the new sample (its stored copy may be an older
    // version of it), and the other raw points of the bucket. Coarser tiers
    // read the tier below, which this loop wrote just before.
    if (t == 1) add(sample);
    auto n = db_.Scan(links_cf_, LinkKey(below.tag, num, start), LinkKey(below.tag, num, start + tier.bucket),
                      [&](std::string_view key, std::string_view value) {
                        const int64_t st = StartOf(key);
                        if (t == 1 && st == sample.start_unix_nanos) return true;
                        auto s = DecodeSample(st, value);
                        if (s) add(*s);
                        return true;
                      });
    if (!n.has_value()) return n.error();
    if (weight > 0) {
      agg.rtt_ms_avg /= weight;
      agg.jitter_ms /= weight;
      agg.loss_ratio /= weight;
      agg.availability /= weight;
    }
    // Duration = the time the bucket's points cover so far.
    agg.duration_nanos = static_cast<int64_t>(weight);
    batch.Put(links_cf_, LinkKey(tier.tag, num, start), EncodeSample(agg));
    // The next tier aggregates this one; write it first so it is read back.
    RAMPART_RETURN_IF_ERROR(db_.Write(batch, rocks::Durability::kProcessCrashSafe));
    batch.Clear();
  }
  return Status::Ok();
}

Result<std::vector<LinkSample>> RegistryImpl::LinkHistory(std::string_view site_id, int64_t from, int64_t to,
                                                          size_t max_points) const {
  const std::optional<uint32_t> site = FindSiteNumber(site_id);
  if (!site) return NotFoundError("no site '" + std::string(site_id) + "'");
  if (to == 0) to = options_.clock->NowNanos();
  if (to <= from) return InvalidArgumentError("empty time range: 'to' must be after 'from'");
  if (max_points == 0) max_points = 1;
  const Tier* tier = &kTiers[2];
  for (const Tier& t : kTiers) {
    if (static_cast<uint64_t>((to - from) / t.bucket) <= max_points) {
      tier = &t;
      break;
    }
  }
  std::vector<LinkSample> out;
  // Start one bucket early so the bucket containing `from` is included.
  const std::string begin = LinkKey(tier->tag, *site, from - tier->bucket + 1);
  const std::string end = LinkKey(tier->tag, *site, to);
  auto n = db_.Scan(links_cf_, begin, end, [&](std::string_view key, std::string_view value) {
    if (key.size() != kLinkKeySize) return true;
    auto s = DecodeSample(StartOf(key), value);
    if (s) out.push_back(*s);
    return true;
  });
  if (!n.has_value()) return n.error();
  if (out.size() > max_points) out.erase(out.begin(), out.end() - static_cast<ptrdiff_t>(max_points));
  return out;
}

Status RegistryImpl::ExpireLinkHistory() {
  const int64_t now = options_.clock->NowNanos();
  for (const Tier& t : kTiers) {
    for (uint32_t num : SiteNumbers()) {
      RAMPART_RETURN_IF_ERROR(
          db_.DeleteRange(links_cf_, LinkKey(t.tag, num, INT64_MIN), LinkKey(t.tag, num, now - t.keep)));
    }
  }
  return Status::Ok();
}

}  // namespace rampart::registry::detail
