/*
  Rampart starter rules: cryptocurrency miners. Written for this project.
*/

rule RAMPART_Miner_Stratum_Pool_URL : miner
{
  meta:
    description = "A mining pool address (stratum+tcp/ssl/tls URL with a port)"
    author = "Rampart"
    severity = 6
    mitre_attack = "T1496"
  strings:
    $url = /stratum\+(tcp|ssl|tls):\/\/[a-z0-9.\-]{1,255}:[0-9]{2,5}/ nocase
  condition:
    $url
}

rule RAMPART_Miner_XMRig_Config : miner
{
  meta:
    description = "XMRig configuration (donate-level with pools or an algorithm)"
    author = "Rampart"
    severity = 6
    mitre_attack = "T1496"
  strings:
    $donate = "\"donate-level\""
    $pools = "\"pools\""
    $algo = /"algo"\s*:\s*"(rx\/0|cn\/|randomx|cryptonight|kawpow|argon2)/
  condition:
    $donate and ($pools or $algo) and filesize < 1MB
}

rule RAMPART_Miner_Command_Line : miner
{
  meta:
    description = "A miner started with pool, wallet and donation options (xmrig, cpuminer, t-rex style)"
    author = "Rampart"
    severity = 6
    mitre_attack = "T1496"
  strings:
    $pool = /(-o|--url[= ])\s*(stratum\+)?(tcp|ssl):\/\//
    $user = /(-u|--user[= ])\s*[0-9A-Za-z]{40,}/
    $donate = "--donate-level"
  condition:
    $pool and ($user or $donate)
}
