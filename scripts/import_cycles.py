#!/usr/bin/env python3
"""Fails when the modules of src/ import each other in a cycle.

The graph is taken at the level of src/'s top modules (`call`, `client`, `types`, ...: a
directory module counts as one): an edge a -> b for every `crate::b` path in a's code (tests
modules left out), and for every `crate::Item` the crate root re-exports from b (read from
lib.rs's `pub use crate::{...}`). Usage: python3 scripts/import_cycles.py [src] [-v]
"""
import os
import re
import sys

root = next((a for a in sys.argv[1:] if not a.startswith('-')), 'src')
verbose = '-v' in sys.argv


def code(path):
    src = open(path, encoding='utf-8').read()
    # The unit tests at the end of a file may use anything.
    cut = src.find('#[cfg(test)]\nmod tests')
    if cut >= 0:
        src = src[:cut]
    return re.sub(r'//[^\n]*', '', src)


# Items the crate root re-exports: `module::{A, b::C}` inside `pub use crate::{ ... };`.
alias = {}
lib = code(os.path.join(root, 'lib.rs'))
for block in re.findall(r'pub use crate::\{(.*?)\};', lib, re.S):
    depth, start, parts = 0, 0, []
    for i, ch in enumerate(block):
        if ch == '{':
            depth += 1
        elif ch == '}':
            depth -= 1
        elif ch == ',' and depth == 0:
            parts.append(block[start:i])
            start = i + 1
    parts.append(block[start:])
    for part in parts:
        part = part.strip()
        if not part:
            continue
        module = part.split('::')[0]
        for item in re.findall(r'\b([A-Z][A-Za-z0-9_]*)\b', part):
            alias[item] = module

modules = {}
for dirpath, _, files in os.walk(root):
    for name in files:
        if not name.endswith('.rs'):
            continue
        rel = os.path.relpath(os.path.join(dirpath, name), root)
        top = rel.split(os.sep)[0].removesuffix('.rs')
        if top == 'lib':
            continue
        deps = re.findall(r'crate::([A-Za-z_][A-Za-z0-9_]*)', code(os.path.join(dirpath, name)))
        modules.setdefault(top, set()).update(alias.get(d, d) for d in deps)
graph = {m: {d for d in deps if d in modules and d != m} for m, deps in modules.items()}

# Tarjan's strongly connected components: every component of two or more is a cycle.
index, low, stack, on_stack, cycles = {}, {}, [], set(), []


def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in sorted(graph[v]):
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on_stack.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            cycles.append(sorted(comp))


sys.setrecursionlimit(10_000)
for v in sorted(graph):
    if v not in index:
        visit(v)
if verbose:
    for m in sorted(graph):
        print(f"{m} -> {' '.join(sorted(graph[m]))}")
for comp in cycles:
    print('import cycle:', ' <-> '.join(comp))
    for a in comp:
        for b in sorted(graph[a] & set(comp)):
            print(f'    {a} -> {b}')
if cycles:
    sys.exit(1)
print(f'no import cycles between the {len(graph)} modules of {root}/')
