#!/bin/sh
# Test sample for RAMPART_Miner_Command_Line: inert, it exits first and names no real binary or pool.
exit 0
./not-a-miner --donate-level 1 -o stratum+tcp://pool.example.invalid:3333 -u 4TESTWALLETTESTWALLETTESTWALLETTESTWALLETTESTWALLET
