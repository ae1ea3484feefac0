"""Graphviz pictures of a computation graph, like micrograd's ``draw_dot``.

One record node per operation: its op (and the user's name for it), its value and its
gradient once a point is given. DOT text is always available; drawing it needs the
Graphviz ``dot`` program, and a missing one gives a clear message, never a hang (the
call has a timeout). Graphs larger than ``max_nodes`` show the nodes nearest the output
and one summary node standing for the rest, so a 10,000-node formula stays readable.
"""
import os
import shutil
import subprocess
from collections import Counter, deque

from symdiff.functions import OPS

from .printer import number

MAX_NODES = 200          # default: beyond this, the nodes nearest the output and a summary
RENDER_TIMEOUT = 60.0    # seconds given to the dot program
FORMATS = ("svg", "png", "pdf", "jpg", "gif", "ps", "eps", "plain", "json")



class GraphvizNotFound(RuntimeError):
    """The Graphviz ``dot`` program is not installed (DOT text still works)."""


class DotGraph:
    """DOT text of a graph (``.source`` / ``str()``), ``.save(path)``, ``.render(path)``."""

    def __init__(self, graph, root, values=None, grads=None, title=None, output=None,
                 max_nodes=MAX_NODES):
        self.graph = graph
        self.root = root
        self.values = values
        self.grads = grads
        self.title = title
        self.output = output
        self.max_nodes = max_nodes
        self.shown, self.hidden = _select(graph, root, max_nodes)
        self.source = self._dot()

    def __str__(self):
        return self.source

    def __repr__(self):
        extra = f", {len(self.hidden)} summarized" if self.hidden else ""
        return f"<DotGraph: {len(self.shown)} nodes shown{extra}; .source is DOT text, .render(path) draws it>"

    # -- DOT text ------------------------------------------------------------------------
    def _label(self, i):
        node = self.graph.nodes[i]
        if node.op == "input":
            head = node.text
        elif node.op == "const":
            head = number(node.value, node.text)
        else:
            op = OPS[node.op].label or node.op
            name = self.output if i == self.root and self.output else (node.names[0] if node.names else None)
            head = f"{name} = {op}" if name else op
        fields = [_escape(head)]
        if self.values is not None and node.op != "const":
            fields.append("value " + _num(self.values[i]))
            fields.append("grad " + _num(self.grads[i]))
        return "{ " + " | ".join(fields) + " }"

    def _dot(self):
        nodes = self.graph.nodes
        out = ["digraph symdiff {",
               '  graph [rankdir=LR, fontname="Helvetica", fontsize=11, labelloc=t];',
               '  node [shape=record, fontname="Helvetica", fontsize=10];',
               '  edge [fontname="Helvetica", fontsize=9];']
        title = " ".join((self.title or "").split())
        if title:
            title = title if len(title) <= 100 else title[:97] + "..."
        if self.hidden:
            title += (f"\\n{len(self.shown)} of {len(self.shown) + len(self.hidden)} nodes shown "
                      f"(nearest the output); pass max_nodes to show more")
        if title:
            out.append(f'  label="{_quote(title)}";')
        for i in sorted(self.shown):
            node = nodes[i]
            style = ""
            if node.op == "input":
                style = ', style=filled, fillcolor="#e8f0fe"'
            elif node.op == "const":
                style = ', shape=plaintext'
            elif i == self.root:
                style = ', style="filled,bold", fillcolor="#fff4e0"'
            label = self._label(i) if node.op != "const" else _escape(number(node.value, node.text))
            out.append(f'  n{i} [label="{_quote(label)}"{style}];')
        if self.hidden:
            kinds = Counter(nodes[i].op for i in self.hidden)
            text = f"... {len(self.hidden)} more nodes" + "\\n" + ", ".join(
                f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))[:6])
            out.append(f'  hidden [shape=box, style="dashed", label="{_quote(text)}"];')
        summarized = set()
        for i in sorted(self.shown):
            node = nodes[i]
            for k, a in enumerate(node.args):
                if a in self.hidden:
                    if i not in summarized:
                        summarized.add(i)
                        out.append(f"  hidden -> n{i} [style=dashed];")
                    continue
                # operand order matters (for max and min at a tie too): label the edges a, b
                ordered = len(node.args) > 1 and (not OPS[node.op].commutative or node.op in ("max", "min"))
                label = f' [label="{"abc"[k]}"]' if ordered and k < 3 else ""
                out.append(f"  n{a} -> n{i}{label};")
        out.append("}")
        return "\n".join(out) + "\n"

    # -- files ---------------------------------------------------------------------------
    def save(self, path):
        """Write the DOT text to ``path``. Returns the path."""
        from .files import write_file
        return write_file(path, self.source)

    def render(self, path, format=None, timeout=RENDER_TIMEOUT):
        """Draw the graph into ``path`` with Graphviz; the format comes from the suffix
        (``.svg``, ``.png``, ``.pdf``; ``.dot``/``.gv`` write the text). Returns the path."""
        fmt = (format or os.path.splitext(path)[1].lstrip(".") or "svg").lower()
        if fmt in ("dot", "gv"):
            return self.save(path)
        if fmt not in FORMATS:
            raise ValueError(f"unknown picture format {fmt!r}; use one of: dot, " + ", ".join(FORMATS))
        from .files import write_file
        return write_file(path, self.pipe(fmt, timeout))

    def pipe(self, fmt="svg", timeout=RENDER_TIMEOUT):
        """The drawing as bytes (runs ``dot -T<fmt>``)."""
        exe = shutil.which("dot")
        if exe is None:
            raise GraphvizNotFound(
                "drawing needs the Graphviz 'dot' program, which is not installed "
                "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
                "conda: conda install graphviz); the DOT text is in .source, or .save('graph.dot')")
        try:
            done = subprocess.run([exe, f"-T{fmt}"], input=self.source.encode("utf-8"),
                                  capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"Graphviz took more than {timeout:g} s to draw {len(self.shown)} nodes; "
                               "draw fewer with max_nodes=...") from None
        if done.returncode != 0:
            raise RuntimeError("Graphviz failed: " + done.stderr.decode(errors="replace").strip()[:300])
        return done.stdout

    def _repr_svg_(self):   # notebooks draw it inline when Graphviz is installed
        try:
            return self.pipe("svg").decode("utf-8")
        except (GraphvizNotFound, RuntimeError):
            return None


def _select(graph, root, max_nodes):
    """(shown, hidden) node ids: all of root's graph, or the max_nodes nearest the output."""
    live = graph.live(root)
    if max_nodes is None or len(live) <= max_nodes:
        return live, set()
    shown, queue = {root}, deque([root])
    while queue and len(shown) < max_nodes:   # breadth first from the output
        for a in graph.nodes[queue.popleft()].args:
            if a not in shown and len(shown) < max_nodes:
                shown.add(a)
                queue.append(a)
    return shown, live - shown


def _num(v):
    v = float(v)
    if v != v or v in (float("inf"), float("-inf")):
        return str(v)
    if v == 0:
        return "0.0000"
    return f"{v:.4f}" if 1e-4 <= abs(v) < 1e6 else f"{v:.3e}"


def _escape(text):
    """Escape record-label metacharacters."""
    for ch in "\\{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text


def _quote(text):
    return text.replace('"', '\\"')
