"""Render a BPMN diagram to SVG from its diagram interchange, highlighting done and current steps.

Besides the drawing, `steps` gives its text version (WCAG 1.1.1): the named steps of each lane in order, with
their state, for the list beside the SVG. The drawing shows a state by shape as well as by colour (a done
step gets a check mark, the current one a thick dashed border; see sertel.css).
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from itertools import pairwise

from lxml import etree

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}


def _kind(element: etree._Element | None) -> str:
    return etree.QName(element).localname if element is not None else ""


# The state words of the text version.
STATE_LABELS = {"done": "selesai", "active": "sedang berjalan", "": "belum"}
# Kinds of element listed as steps (gateways and flows are the drawing's wiring, not steps).
_STEP_KINDS = ("Task", "Event", "subProcess", "callActivity")


def render(xml: str, done: set[str], active: set[str]) -> str:
    """Return an inline SVG of the diagram; `done` elements are green, `active` ones orange."""
    shapes, rest = _layout(xml)
    marked = (
        head + ("active" if ref in active else "done" if ref in done else "") + tail for ref, head, tail in shapes
    )
    return rest[0] + "".join(marked) + rest[1]


def steps(xml: str, done: set[str], active: set[str]) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The diagram as text: [(lane name, [(step name, state, state label), ...]), ...].

    Lanes top to bottom, steps left to right (the drawing's reading order); state is 'done', 'active' or ''.
    """
    return [
        (lane, [(name, state := _state(ref, done, active), STATE_LABELS[state]) for ref, name in items])
        for lane, items in _steps_layout(xml)
    ]


def _state(ref: str, done: set[str], active: set[str]) -> str:
    return "active" if ref in active else "done" if ref in done else ""


@lru_cache(maxsize=64)
def _steps_layout(xml: str) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """The named steps of each lane in order, computed once per diagram: ((lane, ((id, name), ...)), ...)."""
    root = etree.fromstring(xml.encode("utf-8"))
    bounds: dict[str, tuple[float, float]] = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        box = shape.find("dc:Bounds", NS)
        if box is not None:
            bounds[shape.get("bpmnElement", "")] = (float(box.get("x", 0)), float(box.get("y", 0)))
    lanes: list[tuple[float, str, list[str]]] = []
    in_lane: set[str] = set()
    for lane in root.iterfind(".//bpmn:lane", NS):
        refs = [(ref.text or "").strip() for ref in lane.iterfind("bpmn:flowNodeRef", NS)]
        in_lane.update(refs)
        lanes.append((bounds.get(lane.get("id", ""), (0.0, 0.0))[1], lane.get("name") or "Tanpa nama", refs))
    lanes.sort(key=lambda lane: lane[0])
    steps_of: dict[str, str] = {}
    for element in root.iter():
        if not isinstance(element.tag, str) or element.get("id") not in bounds or not element.get("name"):
            continue
        kind = _kind(element)
        if kind.endswith(_STEP_KINDS) and kind not in ("lane", "participant"):
            steps_of[element.get("id", "")] = " ".join(element.get("name", "").split())
    rest = [ref for ref in steps_of if ref not in in_lane]
    if rest:
        lanes.append((float("inf"), "Proses" if not lanes else "Lainnya", rest))

    def ordered(refs: list[str]) -> tuple[tuple[str, str], ...]:
        named = [ref for ref in refs if ref in steps_of]
        return tuple((ref, steps_of[ref]) for ref in sorted(named, key=lambda ref: bounds[ref]))

    return tuple((name, ordered(refs)) for _y, name, refs in lanes if ordered(refs))


# A shape of the drawing: its element id and its SVG around the place where its state class goes.
_Shape = tuple[str, str, str]


@lru_cache(maxsize=64)
def _layout(xml: str) -> tuple[tuple[_Shape, ...], tuple[str, str]]:
    """The drawing of a diagram without states, computed once per diagram: (shapes, (SVG head, edges + tail))."""
    root = etree.fromstring(xml.encode("utf-8"))
    elements = {el.get("id"): el for el in root.iter() if el.get("id")}
    shapes: list[str] = []
    edges: list[str] = []
    taken: list[_Box] = []  # what a flow's label must not cover: shapes and the labels placed so far
    max_x = max_y = 0.0
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        bounds = shape.find("dc:Bounds", NS)
        if bounds is None:
            continue
        x, y, w, h = (float(bounds.get(k, 0)) for k in ("x", "y", "width", "height"))
        max_x, max_y = max(max_x, x + w), max(max_y, y + h)
        ref = shape.get("bpmnElement", "")
        element = elements.get(ref)
        kind = _kind(element)
        label = escape(element.get("name", "") if element is not None else "")
        css = f'class="bpmn-{kind} {_STATE}" data-element-id="{escape(ref)}"'
        if kind not in ("participant", "lane"):
            taken.append((x, y, w, h))
            taken.extend(_label_bounds(shape))
        if kind in ("participant", "lane"):
            shapes.insert(
                0,
                f'<g {css}><rect x="{x}" y="{y}" width="{w}" height="{h}" fill="none" stroke="#999"/>'
                f'<text x="{x + 14}" y="{y + h / 2}" transform="rotate(-90 {x + 14} {y + h / 2})" text-anchor="middle" font-size="12">{label}</text></g>',
            )
        elif kind.endswith("Event"):
            r = w / 2
            width = 3 if kind == "endEvent" else 1.5
            text = _outside_label(shape, label) or (
                f'<text x="{x + r}" y="{y + h + 14}" text-anchor="middle" font-size="10">{label}</text>'
            )
            shapes.append(
                f'<g {css}><circle cx="{x + r}" cy="{y + r}" r="{r}" stroke-width="{width}"/>'
                f'<path class="mark-done" d="M {x + r - 6} {y + r} l 4 4 l 8 -8"/>{text}</g>'
            )
        elif kind.endswith("Gateway"):
            cx, cy = x + w / 2, y + h / 2
            text = _outside_label(shape, label) or (
                f'<text x="{cx}" y="{y - 6}" text-anchor="middle" font-size="10">{label}</text>'
            )
            shapes.append(
                f'<g {css}><polygon points="{cx},{y} {x + w},{cy} {cx},{y + h} {x},{cy}"/>'
                f'<path class="mark-done" d="M {cx - 6} {cy} l 4 4 l 8 -8"/>{text}</g>'
            )
        else:
            shapes.append(
                f'<g {css}><rect x="{x}" y="{y}" width="{w}" height="{h}" rx="10"/>'
                f'<path class="mark-done" d="M {x + w - 20} {y + 9} l 4 4 l 8 -8"/>'
                f'<foreignObject x="{x + 4}" y="{y + 4}" width="{w - 8}" height="{h - 8}"><div xmlns="http://www.w3.org/1999/xhtml" class="bpmn-label">{label}</div></foreignObject></g>'
            )
    for edge in root.iterfind(".//bpmndi:BPMNEdge", NS):
        points = " ".join(f"{p.get('x')},{p.get('y')}" for p in edge.iterfind("di:waypoint", NS))
        ref = edge.get("bpmnElement", "")
        flow = elements.get(ref)
        label = escape(flow.get("name", "")) if flow is not None else ""
        # By rule, not by the label bounds: those of the diagrams in processes/ put branch labels on each other.
        text = _flow_label(edge, label, taken)
        edges.append(
            f'<g class="bpmn-flow" data-element-id="{escape(ref)}"><polyline points="{points}" marker-end="url(#arrow)"/>{text}</g>'
        )
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bpmn-diagram" viewBox="0 0 {max_x + 20} {max_y + 30}" width="{max_x + 20}" height="{max_y + 30}" '
        'role="img" aria-label="Diagram proses; versi teks: daftar langkah per pelaksana di bawah diagram">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>'
    )
    refs = [_ref_of(shape) for shape in shapes]
    split = tuple((ref, *shape.split(_STATE, 1)) for ref, shape in zip(refs, shapes, strict=True))
    return tuple((ref, before, after) for ref, before, after in split), (head, "".join(edges) + "</svg>")


_Box = tuple[float, float, float, float]
_CHAR = 5.6  # average width of a 10 px character, generous
_LINE = 12.0


def _label_bounds(di: etree._Element) -> list[_Box]:
    bounds = di.find("bpmndi:BPMNLabel/dc:Bounds", NS)
    if bounds is None:
        return []
    return [tuple(float(bounds.get(k, 0)) for k in ("x", "y", "width", "height"))]  # type: ignore[list-item]


def _overlaps(a: _Box, b: _Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _flow_label(edge: etree._Element, label: str, taken: list[_Box]) -> str:
    """A flow's label by its longest level segment, where it covers no shape and no label placed before.

    A gateway's branches leave from its corners, so labels at the first waypoint ran into the gateway's own
    label and into each other. Tried: along the segment from its start, above the line, then below it.
    """
    points = [(float(p.get("x", 0)), float(p.get("y", 0))) for p in edge.iterfind("di:waypoint", NS)]
    if not label or not points:
        return ""
    level = [(a, b) for a, b in pairwise(points) if abs(a[1] - b[1]) < 1 and abs(a[0] - b[0]) >= 40]
    if not level:
        return f'<text x="{points[0][0] + 6}" y="{points[0][1] - 6}" font-size="10">{label}</text>'
    text_width = len(label) * _CHAR
    candidates: list[_Box] = []
    for start, end in sorted(level, key=lambda seg: -abs(seg[0][0] - seg[1][0])):
        left, right, line = min(start[0], end[0]) + 6, max(start[0], end[0]) - 8, start[1]
        width = min(text_width, max(right - left, 50))
        height = _LINE * -(-text_width // width)
        x = left
        while True:
            candidates += [(x, line - height - 2, width, height), (x, line + 3, width, height)]
            x += 30
            if x + width > right:
                break
    box = next((c for c in candidates if not any(_overlaps(c, t) for t in taken)), candidates[0])
    taken.append(box)
    x, y, w, h = box
    return (
        f'<foreignObject x="{x}" y="{y}" width="{w + 4}" height="{h + 2}"><div '
        f'xmlns="http://www.w3.org/1999/xhtml" class="bpmn-flow-label">{label}</div></foreignObject>'
    )


def _outside_label(di: etree._Element, label: str) -> str:
    """An event's, gateway's or flow's label where the modeler placed it (its BPMNLabel bounds), wrapped there.

    Without those bounds the caller places it by rule; drawn in the label's own box the texts of neighbouring
    elements do not run into each other.
    """
    bounds = di.find("bpmndi:BPMNLabel/dc:Bounds", NS)
    if not label or bounds is None:
        return ""
    x, y, w, h = (float(bounds.get(k, 0)) for k in ("x", "y", "width", "height"))
    if w < 1 or h < 1:
        return ""
    return (
        f'<foreignObject x="{x}" y="{y}" width="{w}" height="{h + 14}"><div xmlns="http://www.w3.org/1999/xhtml" '
        f'class="bpmn-outer-label">{label}</div></foreignObject>'
    )


# Where a shape's state class goes (a marker no escaped label can contain).
_STATE = "\x00state\x00"


def _ref_of(shape: str) -> str:
    start = shape.index('data-element-id="') + len('data-element-id="')
    return shape[start : shape.index('"', start)]
