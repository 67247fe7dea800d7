#!/usr/bin/env python3
"""Converts a terminal screen with ANSI SGR escapes (`tmux capture-pane -e -p`) to an SVG.

    script/ansi2svg.py [--cols N] [--title TEXT] < screen.ansi > screen.svg

Standard library only. Understands SGR colours (16, 256 and truecolor, foreground and
background), bold, dim, italic, underline, reverse and crossed-out; other escapes are
dropped. One <text> per line, one <tspan> per run of equal style, each placed at its own
column so that glyph widths never accumulate; wide characters take two columns.
"""

import argparse
import re
import sys
import unicodedata
from xml.sax.saxutils import escape

FONT_SIZE = 14
CHAR_W = 8.4
LINE_H = 18
PAD = 12
TITLE_H = 28
BG = "#1a1b26"
FG = "#c0caf5"
# black red green yellow blue magenta cyan white, then the bright ones
PALETTE16 = [
    "#15161e", "#f7768e", "#9ece6a", "#e0af68", "#7aa2f7", "#bb9af7", "#7dcfff", "#a9b1d6",
    "#565f89", "#ff899d", "#b9f27c", "#ffc777", "#8db0ff", "#c7a9ff", "#a4daff", "#e6e9f5",
]

# Light box-drawing characters, drawn as lines so that borders join across rows (font
# glyphs leave gaps between lines): the directions each one reaches from the cell centre.
BOX = {
    "│": "ud", "─": "lr", "┌": "dr", "┐": "dl", "└": "ur", "┘": "ul", "├": "udr", "┤": "udl",
    "┬": "lrd", "┴": "lru", "┼": "udlr", "╭": "dr", "╮": "dl", "╰": "ur", "╯": "ul",
}

SGR = re.compile(r"\x1b\[([0-9;:]*)m")
OTHER_ESC = re.compile(r"\x1b(\[[0-9;:?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78DEHMc])")


def color256(n):
    if n < 16:
        return PALETTE16[n]
    if n < 232:
        n -= 16
        levels = [0, 95, 135, 175, 215, 255]
        r, g, b = levels[n // 36], levels[(n // 6) % 6], levels[n % 6]
        return f"#{r:02x}{g:02x}{b:02x}"
    v = 8 + (n - 232) * 10
    return f"#{v:02x}{v:02x}{v:02x}"


class Style:
    __slots__ = ("fg", "bg", "bold", "dim", "italic", "underline", "reverse", "strike")

    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.bold = self.dim = self.italic = self.underline = False
        self.reverse = self.strike = False

    def key(self):
        return tuple(getattr(self, s) for s in self.__slots__)

    def apply(self, params):
        codes = [p for p in re.split("[;:]", params)] if params else ["0"]
        nums = [int(c) if c.isdigit() else 0 for c in codes]
        i = 0
        while i < len(nums):
            n = nums[i]
            if n == 0:
                self.reset()
            elif n == 1:
                self.bold = True
            elif n == 2:
                self.dim = True
            elif n == 3:
                self.italic = True
            elif n == 4:
                self.underline = True
            elif n == 7:
                self.reverse = True
            elif n == 9:
                self.strike = True
            elif n == 22:
                self.bold = self.dim = False
            elif n == 23:
                self.italic = False
            elif n == 24:
                self.underline = False
            elif n == 27:
                self.reverse = False
            elif n == 29:
                self.strike = False
            elif 30 <= n <= 37:
                self.fg = PALETTE16[n - 30]
            elif n == 39:
                self.fg = None
            elif 40 <= n <= 47:
                self.bg = PALETTE16[n - 40]
            elif n == 49:
                self.bg = None
            elif 90 <= n <= 97:
                self.fg = PALETTE16[n - 90 + 8]
            elif 100 <= n <= 107:
                self.bg = PALETTE16[n - 100 + 8]
            elif n in (38, 48) and i + 1 < len(nums):
                colour = None
                if nums[i + 1] == 5 and i + 2 < len(nums):
                    colour = color256(nums[i + 2])
                    i += 2
                elif nums[i + 1] == 2 and i + 4 < len(nums):
                    r, g, b = nums[i + 2 : i + 5]
                    colour = f"#{r:02x}{g:02x}{b:02x}"
                    i += 4
                if n == 38:
                    self.fg = colour
                else:
                    self.bg = colour
            i += 1

    def colours(self):
        fg, bg = self.fg or FG, self.bg
        if self.reverse:
            fg, bg = (self.bg or BG), (self.fg or FG)
        return fg, bg


def width(ch):
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def parse(text):
    """Lines of runs: (column, cells, text, style key, fg, bg)."""
    style = Style()
    lines = []
    for raw in text.split("\n"):
        runs = []
        col = 0
        pos = 0
        raw = OTHER_ESC.sub(lambda m: m.group(0) if SGR.fullmatch(m.group(0)) else "", raw)
        for m in list(SGR.finditer(raw)) + [None]:
            chunk = raw[pos : m.start() if m else len(raw)]
            chunk = "".join(c for c in chunk if c >= " " or c == "\t").replace("\t", " ")
            if chunk:
                cells = sum(width(c) for c in chunk)
                fg, bg = style.colours()
                key = style.key()
                if runs and runs[-1][3] == key and runs[-1][0] + runs[-1][1] == col:
                    c0, w0, t0, _, _, _ = runs[-1]
                    runs[-1] = (c0, w0 + cells, t0 + chunk, key, fg, bg)
                else:
                    runs.append((col, cells, chunk, key, fg, bg))
                col += cells
            if m:
                style.apply(m.group(1))
                pos = m.end()
        lines.append(runs)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def box(ch, x, y, colour, key):
    cx, cy = x + CHAR_W / 2, y + LINE_H / 2
    ends = {"u": (cx, y), "d": (cx, y + LINE_H), "l": (x, cy), "r": (x + CHAR_W, cy)}
    d = "".join(f"M{cx:.1f} {cy:.1f}L{ends[e][0]:.1f} {ends[e][1]:.1f}" for e in BOX[ch])
    opacity = ' stroke-opacity="0.55"' if dict(zip(Style.__slots__, key))["dim"] else ""
    return f'<path d="{d}" stroke="{colour}" stroke-width="1.2" stroke-linecap="square"{opacity}/>'


def render(lines, cols, title):
    rows = len(lines)
    top = PAD + (TITLE_H if title else 0)
    w = round(cols * CHAR_W + 2 * PAD)
    h = round(top + rows * LINE_H + PAD)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">',
        "<style>text{font-family:'DejaVu Sans Mono','Menlo','Consolas','Liberation Mono',monospace;"
        f"font-size:{FONT_SIZE}px;white-space:pre}}</style>",
        f'<rect width="{w}" height="{h}" rx="8" fill="{BG}"/>',
    ]
    if title:
        out.append(f'<rect width="{w}" height="{TITLE_H}" rx="8" fill="#24283b"/>')
        out.append(f'<rect y="{TITLE_H - 8}" width="{w}" height="8" fill="#24283b"/>')
        for i, c in enumerate(["#f7768e", "#e0af68", "#9ece6a"]):
            out.append(f'<circle cx="{PAD + 6 + i * 20}" cy="{TITLE_H / 2}" r="6" fill="{c}"/>')
        out.append(
            f'<text x="{w / 2}" y="{TITLE_H / 2 + 5}" text-anchor="middle" fill="#787c99">{escape(title)}</text>'
        )
    # backgrounds first, so that text is never covered
    for y, runs in enumerate(lines):
        for col, cells, _text, _key, _fg, bg in runs:
            if bg:
                out.append(
                    f'<rect x="{PAD + col * CHAR_W:.1f}" y="{top + y * LINE_H}" '
                    f'width="{cells * CHAR_W + 0.5:.1f}" height="{LINE_H}" fill="{bg}"/>'
                )
    for y, runs in enumerate(lines):
        for col, _cells, text, key, fg, _bg in runs:
            c = col
            for ch in text:
                if ch in BOX:
                    out.append(box(ch, PAD + c * CHAR_W, top + y * LINE_H, fg, key))
                c += width(ch)
    for y, runs in enumerate(lines):
        spans = []
        for col, _cells, text, key, fg, _bg in runs:
            s = dict(zip(Style.__slots__, key))
            if not text.strip() and not (s["underline"] or s["strike"]):
                continue  # blank: only its background (drawn above) matters
            attrs = [f'x="{PAD + col * CHAR_W:.1f}"', f'fill="{fg}"']
            if s["bold"]:
                attrs.append('font-weight="bold"')
            if s["italic"]:
                attrs.append('font-style="italic"')
            if s["dim"]:
                attrs.append('fill-opacity="0.55"')
            deco = [d for d, on in (("underline", s["underline"]), ("line-through", s["strike"])) if on]
            if deco:
                attrs.append(f'text-decoration="{" ".join(deco)}"')
            shown = "".join(" " if ch in BOX else ch for ch in text)
            if shown.strip() or deco:
                spans.append(f"<tspan {' '.join(attrs)}>{escape(shown)}</tspan>")
        if spans:
            baseline = top + y * LINE_H + LINE_H - 5
            out.append(f'<text y="{baseline}" xml:space="preserve">{"".join(spans)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cols", type=int, default=0, help="terminal width (default: widest line)")
    ap.add_argument("--title", default="", help="window title bar text (none when empty)")
    args = ap.parse_args()
    lines = parse(sys.stdin.read())
    cols = args.cols or max((r[-1][0] + r[-1][1] for r in lines if r), default=80)
    sys.stdout.write(render(lines, cols, args.title))


if __name__ == "__main__":
    main()
