#!/bin/sh
# run-qemu.sh -- run a firmware ELF of firmware/arm under QEMU with semihosting; the exit status is the program's.
#
#   firmware/arm/run-qemu.sh m4|m55 ELF [PROGRAM ARGS...]
#   e.g. firmware/arm/run-qemu.sh m4 firmware/arm/build/m4/refcodec_fw.elf -w 64 -h 64 -k 12 in.rgb out.mcuc
#
# m4: qemu-system-arm -M mps2-an386 (Cortex-M4F); m55: -M mps3-an547 (Cortex-M55 with MVE). Both run with
# -icount shift=0 (one instruction = 1 ns of virtual time), so the RCPROF line the firmware prints on stderr at exit
# counts instructions (firmware/arm/README.md). Files: semihosting opens paths on this host, relative ones from
# the current directory, as a host program would. QEMU joins the program arguments with single spaces, so an
# argument with a space (or an empty one) cannot pass, nor a command line over 1000 bytes: refused here with
# exit status 2. QEMU_TIMEOUT (seconds, default 600) bounds a run (exit status 124 when it expires).
set -eu
if [ $# -lt 2 ]; then
    echo "usage: run-qemu.sh m4|m55 ELF [ARGS...]" >&2
    exit 2
fi
case "$1" in
    m4 | M4) machine=mps2-an386 ;;
    m55 | M55) machine=mps3-an547 ;;
    *) echo "run-qemu.sh: unknown core '$1' (m4 or m55)" >&2; exit 2 ;;
esac
elf=$2
shift 2
if [ ! -f "$elf" ]; then
    echo "run-qemu.sh: no such ELF: $elf" >&2
    exit 2
fi
args=""
for a in "$@"; do
    case "$a" in
        "" | *" "* | *"	"*) echo "run-qemu.sh: argument '$a' is empty or holds a space (semihosting cannot pass it)" >&2; exit 2 ;;
    esac
    args="$args $a"
done
# the firmware reads the command line (ELF path + arguments) into 1024 bytes (startup.c)
if [ $((${#elf} + ${#args})) -gt 1000 ]; then
    echo "run-qemu.sh: command line too long for the firmware's 1 KiB buffer: use relative paths" >&2
    exit 2
fi
exec timeout "${QEMU_TIMEOUT:-600}" qemu-system-arm -M "$machine" -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -icount shift=0 -kernel "$elf" -append "${args# }"
