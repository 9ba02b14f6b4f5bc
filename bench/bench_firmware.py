"""Benchmark the firmware (firmware/src) on a Cortex-M4F (qemu -M mps2-an386) and a Cortex-M55 (-M mps3-an547),
built by firmware/arm with the bundled model (the header of `refcodec export c-header`), on a Kodak photo
(kodim23, resized/cropped with refcodec.media.resize_frame) at 224x224 and 640x480. Writes
bench/results/firmware.json and prints a table:

* flash: ELF text + rodata (+ the .data load image), the model's tables separately (arm-none-eabi-nm sizes of the
  header's rc_* arrays), the library's own objects (firmware/src minus main.c) separately;
* RAM: the arena (rc_plan's figure, refcodec.model.plan.line_plan), static (.data + .bss of
  the whole image), heap: the peak of bytes in live malloc blocks (the front end's
  arena, row buffer and stdio buffers) and the sbrk high-water (newlib grows it in 4 KiB steps), stack peak
  (painting); total = static + live heap peak + stack peak;
* instructions per frame: the run with 2 frames minus the run with 1 frame (so start-up, stream header and file
  I/O cancel), counted with SysTick under -icount shift=0 (firmware/arm/README.md), and the library's stages
  (rc_profile.h: total over the 2-frame run / 2) when it reports them;
* inter streams (spec §6.7): two consecutive frames of a validation clip (vtest) at 224x224 and 320x240 with
  `-e inter`: the instructions of the inter-coded second frame, the RAM with the previous frame's symbols
  (rc_plan_inter), the inter tables' flash (rc_inter_freq / rc_inter_cum in the model tables);
* whether every stream equals `refcodec encode`'s (bytes identical, measured in this run);
* the M55 / M4 instruction ratio (the peer run in the same script).

Usage: python bench/bench_firmware.py [--src DIR] [--out FILE]
  (needs arm-none-eabi-gcc, newlib, qemu-system-arm, make; --src: another firmware source folder than
  firmware/src, --out: another result file than bench/results/firmware.json)
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from refcodec.codec import encode_frames  # noqa: E402
from refcodec.firmware.c_header import export_c_header  # noqa: E402
from refcodec.firmware.qemu import CORES, CPU_HZ, build_arm_firmware, missing_tools, run_arm_firmware  # noqa: E402
from refcodec.io_utils import write_json  # noqa: E402
from refcodec.media.resize import resize_frame  # noqa: E402
from refcodec.firmware.build import LIBRARY_SOURCES  # noqa: E402
from refcodec.model.plan import line_plan  # noqa: E402
from refcodec.model.registry import resolve_model  # noqa: E402
from refcodec.paths import kodak_dir  # noqa: E402

KODAK = kodak_dir() / "kodim23.png"
SIZES = ((224, 224), (640, 480))
INTER_CLIP = "vtest.mp4"  # a validation clip of the inter table (spec §11.3), never one it was fitted on
INTER_SIZES = ((224, 224), (320, 240))
STAGES = ("conv1", "conv2", "conv3", "quant", "entropy")


def _sections(elf: Path) -> dict[str, int]:
    out = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True, text=True, check=True).stdout
    sec = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].startswith(".") and parts[1].isdigit():
            sec[parts[0]] = int(parts[1])
    return sec


def _object_flash(objs: list[Path]) -> int:
    """text + rodata (+ data init) of object files."""
    total = 0
    for obj in objs:
        for name, size in _sections(obj).items():
            if name.startswith((".text", ".rodata", ".data")):
                total += size
    return total


def _model_table_bytes(elf: Path, header: Path) -> dict[str, int]:
    """Sizes in the ELF of the model header's arrays (static const rc_* tables), summed over copies."""
    names = set(re.findall(r"static const [\w ]+? (rc_\w+)\[", header.read_text()))
    out = subprocess.run(["arm-none-eabi-nm", "-S", "--size-sort", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    sizes: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3] in names:
            sizes[parts[3]] = sizes.get(parts[3], 0) + int(parts[1], 16)
    return sizes


def _flash(elf: Path, header: Path) -> dict:
    sec = _sections(elf)
    text = sec.get(".text", 0)
    rodata = sec.get(".rodata", 0)
    other = sum(sec.get(s, 0) for s in (".ARM.exidx", ".ARM.extab", ".preinit_array", ".init_array", ".fini_array"))
    data = sec.get(".data", 0)
    tables = _model_table_bytes(elf, header)
    lib_objs = [elf.parent / (Path(s).stem + ".o") for s in LIBRARY_SOURCES]  # the library only, not the port
    return {"text": text, "rodata": rodata, "data_load_image": data, "other": other,
            "total": text + rodata + data + other, "model_tables": sum(tables.values()),
            "model_tables_by_symbol": dict(sorted(tables.items())),
            "library_objects": _object_flash(lib_objs),
            "library_objects_files": sorted(p.name for p in lib_objs)}


def _run(elf: Path, core: str, frames: list[np.ndarray], work: Path, entropy: str | None = None
         ) -> tuple[bytes, dict, float]:
    t0 = time.perf_counter()
    stream, run = run_arm_firmware(elf, core, frames, work / f"{core}_{len(frames)}.mcuc", entropy=entropy)
    return stream, run.profile, time.perf_counter() - t0


def _inter(elf: Path, core: str, model, clip: list[np.ndarray], static_ram: int, work: Path) -> dict:
    """Inter streams (spec §6.7) of two consecutive clip frames per size: the second frame is inter-coded, so
    instructions(2 frames) - instructions(1 frame) is an inter frame's cost; RAM as for intra plus the previous
    frame's symbols (rc_plan_inter)."""
    out = {}
    for w, h in INTER_SIZES:
        frames = [resize_frame(f, (w, h)) for f in clip]
        s1, p1, _ = _run(elf, core, frames[:1], work, "inter")
        s2, p2, _ = _run(elf, core, frames, work, "inter")
        equal = (s1 == encode_frames(frames[:1], model, entropy="inter")
                 and s2 == encode_frames(frames, model, entropy="inter"))
        lp = line_plan(h, w, model.channels, int(model.latent_quantizer.bits))
        out[f"{w}x{h}"] = {
            "instructions_inter_frame": p2["instructions"] - p1["instructions"],
            "entropy_stage_instructions_2_frames": p2["stages"]["entropy"]["instructions"],
            "entropy_stage_instructions_1_frame": p1["stages"]["entropy"]["instructions"],
            "stream_bytes_keyframe_and_inter": [len(s1), len(s2) - len(s1)],
            "ram": {"arena_rc_plan_inter": lp.arena_bytes_inter,
                    "previous_frame_symbols": lp.symbol_bytes, "static": static_ram,
                    "heap_live_peak": p2["heap_live_peak"], "stack_peak": p2["stack_peak"],
                    "total": static_ram + p2["heap_live_peak"] + p2["stack_peak"]},
            "stream_equals_refcodec_encode": equal,
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=None, help="firmware source folder (default firmware/src)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "firmware.json"))
    args = ap.parse_args()
    missing = missing_tools()
    if missing:
        print(f"bench_firmware: skipped, {', '.join(missing)} not found (apt-get install gcc-arm-none-eabi "
              "libnewlib-arm-none-eabi qemu-system-arm); bench/results/firmware.json left as it was", file=sys.stderr)
        return 0
    import imageio.v3 as iio

    model = resolve_model(None)
    bits = int(model.latent_quantizer.bits)
    photo = np.asarray(iio.imread(KODAK))[..., :3]
    from refcodec.media import open_media
    from refcodec.paths import video_dir

    clip = [np.asarray(f) for f, _ in zip(open_media(video_dir() / INTER_CLIP).frames, range(2))]
    result: dict = {"benchmark": "firmware_on_cortex_m_qemu", "model": "bundled default (refcodec export c-header)",
                    "image": "kodak/kodim23.png, refcodec.media.resize_frame to each size",
                    "firmware_sources": "firmware/src" if args.src is None else str(args.src),
                    "counting": "SysTick ticks x 1e9 / cpu_hz under qemu -icount shift=0 (firmware/arm/README.md)",
                    "per_frame_method": "instructions(2 frames) - instructions(1 frame)",
                    "host": {"machine": platform.machine(), "qemu": subprocess.run(
                        ["qemu-system-arm", "--version"], capture_output=True, text=True).stdout.splitlines()[0],
                        "gcc": subprocess.run(["arm-none-eabi-gcc", "--version"], capture_output=True,
                                              text=True).stdout.splitlines()[0]},
                    "cores": {}}
    all_equal = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        header = export_c_header(model, tmp / "rc_model.h")
        for core in sorted(CORES):
            elf = build_arm_firmware(header, tmp / "build", core, src_dir=args.src)
            sec = _sections(elf)
            entry: dict = {"machine": CORES[core], "cpu_hz": CPU_HZ[core], "flash": _flash(elf, header),
                           "static_ram": sec.get(".data", 0) + sec.get(".bss", 0), "sizes": {}}
            for w, h in SIZES:
                frame = resize_frame(photo, (w, h))
                s1, p1, t1 = _run(elf, core, [frame], tmp)
                s2, p2, t2 = _run(elf, core, [frame, frame], tmp)
                equal = s1 == encode_frames([frame], model) and s2 == encode_frames([frame, frame], model)
                all_equal &= equal
                stages = {}
                if any(p2["stages"][s]["calls"] for s in STAGES):
                    stages = {s: p2["stages"][s]["instructions"] // 2 for s in STAGES}
                entry["sizes"][f"{w}x{h}"] = {
                    "instructions_per_frame": p2["instructions"] - p1["instructions"],
                    "instructions_run_1_frame": p1["instructions"],
                    "stage_instructions_per_frame": stages or None,
                    "ram": {"arena_rc_plan": line_plan(h, w, model.channels, bits).arena_bytes,
                            "static": entry["static_ram"],
                            "heap_peak": p2["heap_peak"], "heap_live_peak": p2["heap_live_peak"],
                            "stack_peak": p2["stack_peak"],
                            "total": entry["static_ram"] + p2["heap_live_peak"] + p2["stack_peak"]},
                    "stream_equals_refcodec_encode": equal,
                    "qemu_seconds_1_and_2_frames": [round(t1, 2), round(t2, 2)],
                }
            entry["inter"] = _inter(elf, core, model, clip, entry["static_ram"], tmp)
            all_equal &= all(r["stream_equals_refcodec_encode"] for r in entry["inter"].values())
            result["cores"][core] = entry
    result["stream_equals_refcodec_encode"] = all_equal
    result["m55_over_m4_instructions"] = {
        k: round(result["cores"]["m55"]["sizes"][k]["instructions_per_frame"]
                 / result["cores"]["m4"]["sizes"][k]["instructions_per_frame"], 3)
        for k in result["cores"]["m4"]["sizes"]}
    out = Path(args.out)
    write_json(out, result, indent=2)
    print(f"{'core':5} {'size':8} {'Minsn/frame':>12} {'RAM KB':>8} {'heap KB':>8} {'stack B':>8} {'flash KB':>9} "
          f"{'tables KB':>9} same-bytes")
    for core, e in result["cores"].items():
        for size, r in e["sizes"].items():
            print(f"{core:5} {size:8} {r['instructions_per_frame'] / 1e6:12.1f} {r['ram']['total'] / 1024:8.1f} "
                  f"{r['ram']['heap_live_peak'] / 1024:8.1f} "
                  f"{r['ram']['stack_peak']:8d} {e['flash']['total'] / 1024:9.1f} "
                  f"{e['flash']['model_tables'] / 1024:9.1f} {r['stream_equals_refcodec_encode']}")
    for core, e in result["cores"].items():
        for size, r in e["inter"].items():
            print(f"{core:5} {size:8} inter frame {r['instructions_inter_frame'] / 1e6:8.1f} Minsn, RAM "
                  f"{r['ram']['total'] / 1024:.1f} KB (previous symbols {r['ram']['previous_frame_symbols']:,} B), "
                  f"inter tables {e['flash']['model_tables_by_symbol'].get('rc_inter_freq', 0) + e['flash']['model_tables_by_symbol'].get('rc_inter_cum', 0):,} B flash, "
                  f"same-bytes {r['stream_equals_refcodec_encode']}")
    print(f"wrote {out}")
    return 0 if all_equal else 1


if __name__ == "__main__":
    sys.exit(main())
