"""`refcodec vectors run -- CMD ...`: run anybody's firmware over every conformance vector and verify its output.

A conformance runner in the manner of libjxl's conformance script, which runs any decoder over its test
corpus: here the tested program is an *encoder* (a host binary, a QEMU command line, a script that talks to a
board), CMD is its command line with placeholders, and each vector's output is checked by `refcodec verify`
(refcodec.verify.verify), whose diagnosis is reported for every failure.

Placeholders (str.format syntax, `{{` and `}}` for literal braces), one value per vector:

| placeholder   | value |
|---------------|-------|
| `{input}`     | raw RGB file of the vector's frames: uint8 R, G, B per pixel, rows top to bottom, frames back to back |
| `{png}`       | the first frame as PNG (the vector's `input.png` or `input_0000.png`) |
| `{png_dir}`   | a folder holding every frame as PNG: 0000.png, 0001.png, ... |
| `{width}` `{height}` | the frame size (original, not padded) |
| `{frames}`    | the number of frames |
| `{k}`         | channels to send: one number when every frame sends the same k, else the list K0,K1,... |
| `{k_list}`    | always the list K0,K1,... (one per frame, comma separated) |
| `{entropy}`   | raw, huffman, ctx or inter (the stream's entropy_mode) |
| `{keyframe_interval}` | inter vectors only (see `[ ]`): the keyframe interval N (frames 0, N, 2N, ... intra) |
| `{fps}`       | NUM/DEN; `{fps_num}` `{fps_den}`: its terms. Only vectors with timing have them (see `[ ]`) |
| `{output}`    | the .mcuc file the command must write |
| `{dump}`      | an empty folder: layer dumps written there (<tensor>.bin, or frame_NNNN/<tensor>.bin) are verified too |
| `{model}`     | the vector's model name (rand-double, rand-single, extreme-double, extreme-single, rand-ctx) |
| `{model_npz}` `{model_h}` | that model's file and its C header (vectors/models/) |
| `{vector}` `{vector_dir}` | the vector's name and folder |

Words between a `[` word and a `]` word are an optional group: kept when every placeholder in it has a value for
the vector, dropped otherwise (`[ -f {fps} ]`: timing only for the vectors that have it). A placeholder
without a value outside a group is an error before anything runs.

A vector PASSes when the command exits 0, its stream equals the vector's stream.mcuc byte for byte, and
`refcodec verify` finds nothing wrong with the stream and any layer dumps; otherwise it FAILs with the reason.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import signal
import string
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from refcodec.errors import InputFileError, InvalidArgumentError, RefcodecError

PLACEHOLDERS = ("input", "png", "png_dir", "width", "height", "frames", "k", "k_list", "entropy", "fps", "fps_num",
                "fps_den", "keyframe_interval", "output", "dump", "model", "model_npz", "model_h", "vector", "vector_dir")
OPEN_GROUP, CLOSE_GROUP = "[", "]"


@dataclass
class Vector:
    name: str
    folder: Path
    record: dict

    @property
    def model(self) -> str:
        return self.record["model"]["name"]

    @property
    def channels_per_frame(self) -> list[int]:
        rec = self.record
        if "channels_per_frame" in rec:
            return [int(k) for k in rec["channels_per_frame"]]
        return [int(rec["channels_sent"])] * int(rec.get("frames", 1))

    def frames(self) -> list[np.ndarray]:
        from refcodec.verify.inputs import read_image

        return [read_image(self.folder / n) for n in self.record.get("inputs", ["input.png"])]


@dataclass
class VectorResult:
    name: str
    model: str
    frames: int
    result: str  # PASS | FAIL
    seconds: float
    argv: list[str]
    error: str | None = None  # the command failed or wrote nothing
    report: dict | None = None  # refcodec verify's report (VerifyReport.to_json())
    stream_equal: bool | None = None
    diagnoses: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"name": self.name, "model": self.model, "frames": self.frames, "result": self.result,
                "seconds": round(self.seconds, 3), "argv": self.argv, "error": self.error,
                "stream_equals_vector": self.stream_equal, "diagnoses": self.diagnoses, "verify": self.report}


def load_vectors(root: str | Path, patterns: tuple[str, ...] = (), models: tuple[str, ...] = ()) -> list[Vector]:
    """The vectors under root (folders with a vector.json), sorted by name; patterns: fnmatch globs on the name
    (any may match; none: all); models: model names (any may match; none: all)."""
    root = Path(root)
    if not root.is_dir():
        raise InputFileError(f"vectors folder not found: '{root}'")
    out = []
    for path in sorted(root.glob("*/vector.json")):
        name = path.parent.name
        if patterns and not any(fnmatch.fnmatchcase(name, p) for p in patterns):
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise InputFileError(f"cannot read '{path}': {e}") from None
        v = Vector(name, path.parent, record)
        if models and v.model not in models:
            continue
        out.append(v)
    if not out:
        raise InvalidArgumentError(f"no vector under '{root}' matches --filter {list(patterns) or '*'} "
                                   f"--model {list(models) or '*'}")
    return out


def _fields(word: str) -> list[str]:
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(word) if f is not None]
    except ValueError as e:
        raise InvalidArgumentError(f'bad placeholder syntax in "{word}": {e}') from None
    for n in names:
        if n not in PLACEHOLDERS:
            raise InvalidArgumentError(f'unknown placeholder "{{{n}}}" in "{word}"; known: '
                                       + " ".join("{" + p + "}" for p in PLACEHOLDERS))
    return names


def check_command(cmd: list[str]) -> None:
    """Syntax of CMD: known placeholders, balanced non-nested [ ] groups."""
    if not cmd:
        raise InvalidArgumentError("no firmware command: give it after --, e.g. vectors run -- ./fw -w {width} ...")
    depth = 0
    for word in cmd:
        if word == OPEN_GROUP:
            depth += 1
            if depth > 1:
                raise InvalidArgumentError("optional groups [ ... ] cannot be nested")
        elif word == CLOSE_GROUP:
            depth -= 1
            if depth < 0:
                raise InvalidArgumentError("']' without '['")
        else:
            _fields(word)
    if depth:
        raise InvalidArgumentError("'[' without ']'")


def expand(cmd: list[str], values: dict[str, str | None]) -> list[str]:
    """argv for one vector: placeholders replaced; optional groups with a valueless placeholder dropped."""
    argv: list[str] = []
    group: list[str] | None = None
    keep = True
    for word in cmd:
        if word == OPEN_GROUP:
            group, keep = [], True
            continue
        if word == CLOSE_GROUP:
            if keep:
                argv += group or []
            group = None
            continue
        names = _fields(word)
        missing = [n for n in names if values.get(n) is None]
        if missing:
            if group is None:
                raise InvalidArgumentError(f'placeholder "{{{missing[0]}}}" has no value for vector '
                                           f'{values.get("vector")}: put it in an optional group [ ... ]')
            keep = False
            continue
        try:
            text = word.format(**{n: values[n] for n in names}) if names else word.replace("{{", "{").replace("}}", "}")
        except (ValueError, KeyError, IndexError, AttributeError) as e:
            raise InvalidArgumentError(f'cannot expand "{word}": {e}') from None
        (argv if group is None else group).append(text)
    return argv


def placeholder_values(v: Vector, root: Path, work: Path) -> dict[str, str | None]:
    rec = v.record
    ks = v.channels_per_frame
    fps = rec.get("fps")
    k_list = ",".join(map(str, ks))
    return {
        "input": str(work / "input.rgb"), "png": str(v.folder / rec.get("inputs", ["input.png"])[0]),
        "png_dir": str(work / "png"), "width": str(rec["width"]), "height": str(rec["height"]),
        "frames": str(len(ks)), "k": str(ks[0]) if len(set(ks)) == 1 else k_list, "k_list": k_list,
        "entropy": rec["entropy"], "fps": f"{fps[0]}/{fps[1]}" if fps else None,
        "fps_num": str(fps[0]) if fps else None, "fps_den": str(fps[1]) if fps else None,
        "keyframe_interval": str(rec["keyframe_interval"]) if rec.get("keyframe_interval") else None,
        "output": str(work / "out.mcuc"), "dump": str(work / "dump"), "model": v.model,
        "model_npz": str(root / "models" / f"{v.model}.npz"), "model_h": str(root / "models" / f"{v.model}.h"),
        "vector": v.name, "vector_dir": str(v.folder),
    }


def _prepare(v: Vector, work: Path, frames: list[np.ndarray]) -> None:
    if work.exists():
        shutil.rmtree(work)
    (work / "dump").mkdir(parents=True)
    (work / "png").mkdir()
    (work / "input.rgb").write_bytes(b"".join(np.ascontiguousarray(f, dtype=np.uint8).tobytes() for f in frames))
    for i, name in enumerate(v.record.get("inputs", ["input.png"])):
        shutil.copyfile(v.folder / name, work / "png" / f"{i:04d}.png")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _run_command(argv: list[str], timeout: float | None) -> tuple[int, str]:
    """Run argv in its own process group (a wrapper script's children, e.g. QEMU, are killed with it on a
    timeout); returns (exit status, stderr)."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.communicate()
        raise
    return proc.returncode, err.decode("utf-8", "replace")


def run_vector(v: Vector, cmd: list[str], root: Path, work: Path, model, timeout: float | None) -> VectorResult:
    from refcodec.verify import verify
    from refcodec.verify.dumps import DUMP_NAMES

    frames = v.frames()
    values = placeholder_values(v, root, work)
    argv = expand(cmd, values)
    _prepare(v, work, frames)
    res = VectorResult(v.name, v.model, len(frames), "FAIL", 0.0, argv)
    t0 = time.monotonic()
    try:
        returncode, stderr = _run_command(argv, timeout)
    except subprocess.TimeoutExpired:
        res.seconds = time.monotonic() - t0
        res.error = f"timed out after {timeout:g} s"
        return res
    except OSError as e:
        res.seconds = time.monotonic() - t0
        res.error = f"cannot run '{argv[0]}': {e.strerror or e}"
        return res
    res.seconds = time.monotonic() - t0
    if returncode != 0:
        res.error = f"exit code {returncode}" + (f": {_last_line(stderr)}" if _last_line(stderr) else "")
        return res
    out = Path(values["output"])
    if not out.is_file():
        res.error = "the command exited 0 but wrote no stream"
        return res
    stream = out.read_bytes()
    dump = Path(values["dump"])
    has_dumps = any(dump.glob("*.bin")) or any(dump.glob("*.npy")) or any(
        (p / f"{n}.bin").is_file() for p in dump.glob("frame_*") for n in DUMP_NAMES)
    try:
        report = verify(model, frames, stream, dump if has_dumps else None, v.channels_per_frame, v.record["entropy"],
                        v.record.get("keyframe_interval"))
    except RefcodecError as e:  # e.g. unreadable dump files: a FAIL of this vector, the run goes on
        res.error = f"cannot verify: {e}"
        return res
    res.report = report.to_json()
    res.stream_equal = stream == (v.folder / "stream.mcuc").read_bytes()
    res.diagnoses = _merge_frames(report.diagnoses)
    if not res.stream_equal and report.passed:  # cannot happen while `vectors check` passes; say so if it does
        res.diagnoses.append("[vector] the stream passes verify but differs from the vector's stream.mcuc: run "
                             "`refcodec vectors check`")
    res.result = "PASS" if report.passed and res.stream_equal else "FAIL"
    return res


def _merge_frames(diagnoses) -> list[str]:
    """One line per distinct (area, layer, message), naming every frame it was found in."""
    merged: dict[tuple, list[int]] = {}
    for d in diagnoses:
        merged.setdefault((d.area, d.layer, d.message), [])
        if d.frame is not None:
            merged[(d.area, d.layer, d.message)].append(d.frame)
    out = []
    for (area, layer, message), frames in merged.items():
        where = ""
        if frames:
            where = f" frame {frames[0]}" if len(frames) == 1 else f" frames {','.join(map(str, frames))}"
        out.append(f"[{area}]{where}{' ' + layer if layer else ''}: {message}")
    return out


@dataclass
class RunSummary:
    command: list[str]
    results: list[VectorResult]

    @property
    def failed(self) -> int:
        return sum(r.result != "PASS" for r in self.results)

    def to_json(self) -> dict:
        return {"result": "FAIL" if self.failed else "PASS", "command": self.command,
                "vectors": len(self.results), "passed": len(self.results) - self.failed, "failed": self.failed,
                "results": [r.to_json() for r in self.results]}

    def table(self) -> str:
        width = max(len("vector"), *(len(r.name) for r in self.results))
        mw = max(len("model"), *(len(r.model) for r in self.results))
        lines = [f"{'vector':{width}}  {'model':{mw}}  frames  result  reason"]
        for r in self.results:
            if r.error:
                reason = r.error
            elif r.diagnoses:
                reason = r.diagnoses[0]
            else:
                reason = ""
            lines.append(f"{r.name:{width}}  {r.model:{mw}}  {r.frames:>6}  {r.result:6}  {reason}".rstrip())
            for d in r.diagnoses[1:]:
                lines.append(f"{'':{width}}  {'':{mw}}  {'':6}  {'':6}  {d}")
        lines.append(f"{len(self.results)} vector(s): {len(self.results) - self.failed} PASS, {self.failed} FAIL")
        return "\n".join(lines)


def run_vectors(root: str | Path, cmd: list[str], patterns: tuple[str, ...] = (), models: tuple[str, ...] = (),
                timeout: float | None = 600.0, work_dir: str | Path | None = None, progress=None) -> RunSummary:
    """Run CMD over the selected vectors (see the module docstring). work_dir: keep each vector's files there
    (<work_dir>/<vector>/); None: a temporary folder, removed afterwards. progress(i, n, result) after each."""
    from refcodec.model.modelfile import load_model

    check_command(cmd)
    root = Path(root).resolve()
    vectors = load_vectors(root, patterns, models)
    tmp = None
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="refcodec-vectors-run-")
        base = Path(tmp.name)
    else:
        base = Path(work_dir).resolve()
    for v in vectors:  # every expansion checked before anything runs
        expand(cmd, placeholder_values(v, root, base / v.name))
    model_cache: dict[str, object] = {}
    results = []
    try:
        for i, v in enumerate(vectors):
            if v.model not in model_cache:
                model_cache[v.model] = load_model(root / "models" / f"{v.model}.npz")
            r = run_vector(v, cmd, root, base / v.name, model_cache[v.model], timeout)
            results.append(r)
            if progress is not None:
                progress(i + 1, len(vectors), r)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return RunSummary(list(cmd), results)
