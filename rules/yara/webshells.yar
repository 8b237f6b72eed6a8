/*
  Rampart starter rules: web shells. Written for this project.
  Each rule has a sample that fires it in tests/data/yara/hit/ and benign
  files that must not in tests/data/yara/miss/.
*/

rule RAMPART_Webshell_PHP_Eval_Request : webshell php
{
  meta:
    description = "PHP that evaluates request data (eval/assert of $_POST, $_GET, $_REQUEST or $_COOKIE, possibly decoded first)"
    author = "Rampart"
    severity = 8
    mitre_attack = "T1505.003"
  strings:
    $php = "<?" 
    $eval = /\b(eval|assert)\s*\(\s*(@?\s*(base64_decode|gzinflate|gzuncompress|str_rot13|stripslashes)\s*\(\s*){0,3}@?\$_(POST|GET|REQUEST|COOKIE)\b/ nocase
  condition:
    $php and $eval and filesize < 1MB
}

rule RAMPART_Webshell_PHP_Command_Request : webshell php
{
  meta:
    description = "PHP that hands request data to a shell command (system, passthru, shell_exec, exec, popen, proc_open)"
    author = "Rampart"
    severity = 8
    mitre_attack = "T1505.003"
  strings:
    $php = "<?"
    $cmd = /\b(system|passthru|shell_exec|exec|popen|proc_open)\s*\(\s*@?\$_(POST|GET|REQUEST|COOKIE)\s*\[/ nocase
  condition:
    $php and $cmd and filesize < 1MB
}

rule RAMPART_Webshell_JSP_Runtime_Exec : webshell jsp
{
  meta:
    description = "JSP page that runs a request parameter with Runtime.exec"
    author = "Rampart"
    severity = 8
    mitre_attack = "T1505.003"
  strings:
    $tag = "<%"
    $exec = /Runtime\.getRuntime\(\)\.exec\(\s*request\.getParameter\(/
  condition:
    $tag and $exec and filesize < 500KB
}

rule RAMPART_Webshell_ASPX_Jscript_Eval : webshell aspx
{
  meta:
    description = "ASP.NET JScript page that evaluates a request field (China Chopper style one-liner)"
    author = "Rampart"
    severity = 8
    mitre_attack = "T1505.003"
  strings:
    $page = /<%@\s*Page\s+Language\s*=\s*"?Jscript"?/ nocase
    $eval = /eval\s*\(\s*Request(\.Item)?\s*\[/ nocase
  condition:
    $page and $eval and filesize < 100KB
}
