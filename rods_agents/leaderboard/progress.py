"""A progress bar on stderr: tqdm's when it is installed, else a plain one-line bar."""

from __future__ import annotations

import sys
import time


class PlainBar:
    """``label  123/880 [#####.....] 14%  52.1 ep/s  eta 15s``, redrawn at most ten times a second."""

    def __init__(self, total: int, label: str, initial: int = 0, stream=None):
        self.total, self.label, self.done = total, label, initial
        self.stream = stream or sys.stderr
        self.start, self.last_draw, self.start_done = time.monotonic(), 0.0, initial
        self._draw()

    def update(self, n: int = 1) -> None:
        self.done += n
        if time.monotonic() - self.last_draw >= 0.1 or self.done >= self.total:
            self._draw()

    def _draw(self) -> None:
        self.last_draw = time.monotonic()
        elapsed = max(self.last_draw - self.start, 1e-9)
        rate = (self.done - self.start_done) / elapsed
        share = self.done / self.total if self.total else 1.0
        filled = int(share * 20)
        eta = f"eta {(self.total - self.done) / rate:.0f}s" if rate > 0 else "eta ?"
        self.stream.write(f"\r{self.label}  {self.done}/{self.total} [{'#' * filled}{'.' * (20 - filled)}] "
                          f"{share:4.0%}  {rate:.1f} ep/s  {eta}  ")
        self.stream.flush()

    def close(self) -> None:
        self._draw()
        self.stream.write("\n")
        self.stream.flush()


class NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, label: str, initial: int = 0, enabled: bool = True):
    if not enabled:
        return NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return PlainBar(total, label, initial)
    return tqdm(total=total, initial=initial, desc=label, unit="ep", file=sys.stderr, dynamic_ncols=True)
