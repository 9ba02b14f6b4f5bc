"""Rate-distortion plot of an evaluation result (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

from pathlib import Path

from refcodec.io_utils import atomic_path

JPEG_STYLE = {"420": ("JPEG 4:2:0", "tab:orange", "s"), "444": ("JPEG 4:4:4", "tab:green", "^")}


def plot_rd(result: dict, path: str | Path, title: str | None = None) -> Path:
    """Two panels (MS-SSIM dB and PSNR against bpp): refcodec k = 1..12 and each JPEG setting. Writes PNG."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
    # Zoom on refcodec's range: JPEG points up to 1.5x its highest rate, plus the first one beyond.
    xmax = 1.5 * max(r["bpp"] for r in result["codec"])
    for ax, metric, label in ((axes[0], "ms_ssim_db", "MS-SSIM (dB)"), (axes[1], "psnr", "PSNR RGB (dB)")):
        rows = result["codec"]
        ax.plot([r["bpp"] for r in rows], [r[metric] for r in rows], "o-", color="tab:blue", label="refcodec (k=1..12)")
        for r in rows:
            ax.annotate(str(r["k"]), (r["bpp"], r[metric]), textcoords="offset points", xytext=(3, -10), fontsize=7)
        for name, jrows in result["jpeg"].items():
            lab, color, marker = JPEG_STYLE.get(name, (f"JPEG {name}", None, "x"))
            jrows = sorted(jrows, key=lambda r: r["bpp"])
            n_in = sum(r["bpp"] <= xmax for r in jrows)
            jrows = jrows[: n_in + 1]
            ax.plot([r["bpp"] for r in jrows], [r[metric] for r in jrows], marker=marker, linestyle="--",
                    color=color, label=lab)
        ax.set_xlim(0, xmax)
        ax.set_xlabel("bits per pixel (all headers counted)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    n = len(result.get("images", []))
    fig.suptitle(title or f"{Path(result.get('dataset', '')).name} at {result.get('size')}x{result.get('size')}, "
                 f"{n} images")
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path


VIDEO_STYLE = {"intra": ("refcodec intra (k=1..12)", "tab:blue", "o-"),
               "inter": ("refcodec inter (k=1..12)", "tab:red", "o-"),
               "mjpeg420": ("M-JPEG 4:2:0", "tab:orange", "s--"), "mjpeg444": ("M-JPEG 4:4:4", "tab:green", "^--"),
               "x264_ultrafast_zerolatency": ("x264 ultrafast zerolatency", "tab:purple", "x:"),
               "x264_medium": ("x264 medium", "tab:gray", "d:")}


def plot_video_rd(result: dict, path: str | Path) -> Path:
    """Video evaluation (refcodec.eval.video): MS-SSIM dB and PSNR against bits per pixel per frame, mean over
    the clips, refcodec intra and inter and each anchor. Writes PNG."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
    xmax = 1.5 * max(r["bpp"] for r in result["mean"]["intra"])
    for ax, metric, label in ((axes[0], "ms_ssim_db", "MS-SSIM (dB)"), (axes[1], "psnr", "PSNR RGB (dB)")):
        for name, (lab, color, style) in VIDEO_STYLE.items():
            rows = sorted(result["mean"][name], key=lambda r: r["bpp"])
            ax.plot([r["bpp"] for r in rows], [r[metric] for r in rows], style, color=color, label=lab, markersize=4)
        ax.set_xlim(0, xmax)
        ax.set_xlabel("bits per pixel per frame (every byte counted)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize=7)
    fig.suptitle(f"{', '.join(result['clips'])}: {result['frames_per_clip']} frames at {result['size']}")
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path
