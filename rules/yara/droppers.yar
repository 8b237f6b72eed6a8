/*
  Rampart starter rules: download-and-run droppers in shell scripts and
  crontabs. Written for this project.
*/

rule RAMPART_Dropper_Fetch_To_Tmp_And_Run : dropper
{
  meta:
    description = "Downloads a file into /tmp, /dev/shm or /var/tmp, makes it executable and runs it"
    author = "Rampart"
    severity = 7
    mitre_attack = "T1105"
  strings:
    $fetch = /(curl|wget)\s[^\n]{0,200}(-o|-O|--output[= ]|>)\s*\/(tmp|dev\/shm|var\/tmp)\/[A-Za-z0-9_.\-]{1,64}/
    $chmod = /chmod\s+(\+x|[0-7]?7[0-7][0-7])\s+\/(tmp|dev\/shm|var\/tmp)\/[A-Za-z0-9_.\-]{1,64}/
  condition:
    $fetch and $chmod and filesize < 1MB
}

rule RAMPART_Dropper_Cron_Pipe_To_Shell : dropper persistence
{
  meta:
    description = "A crontab line that pipes a download into a shell"
    author = "Rampart"
    severity = 7
    mitre_attack = "T1053.003"
  strings:
    $cron = /(@reboot|(\*|[0-9,\/\-]{1,20})\s+(\*|[0-9,\/\-]{1,20})\s+(\*|[0-9,\/\-]{1,20})\s+(\*|[0-9,\/\-]{1,20})\s+(\*|[0-9,\/\-]{1,20}))\s+[^\n]{0,80}(curl|wget)\s[^\n|]{1,200}\|\s*(ba|da)?sh\b/
  condition:
    $cron
}
